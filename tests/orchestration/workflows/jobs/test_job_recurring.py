"""A recurring job re-runs its spec every period on a durable timer (continue-as-new
between runs), and each later report says what changed since the last."""

from __future__ import annotations

from pathlib import Path

from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from tests.support.jobs import running_jobs, spec


async def test_recurs_every_day(time_skipping_env: WorkflowEnvironment, tmp_path: Path) -> None:
    async with running_jobs(time_skipping_env.client, tmp_path) as jobs:
        handle = await jobs.start(spec(recurrence={"every": "P1D", "max_runs": 2}))
        result = await handle.result()
        report = jobs.artifacts.get_text(result.report.key)  # type: ignore[union-attr]
        first_run_id = (await handle.handle.describe()).raw_description.workflow_execution_info.first_run_id
        first = await time_skipping_env.client.get_workflow_handle(handle.job_id, run_id=first_run_id).fetch_history()

    assert result.status == "completed" and result.runs == 2
    assert "## Changes since the last run" in report
    assert "No change: the same findings and sources as the last run." in report
    kinds = [e.event_type for e in first.events]
    assert EventType.EVENT_TYPE_TIMER_STARTED in kinds  # waited a day, with zero compute
    assert kinds[-1] == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
