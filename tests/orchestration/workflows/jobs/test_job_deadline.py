"""A missed 3-day approval deadline, on Temporal's time-skipping server: each policy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.support.jobs import running_jobs, spec


@pytest.mark.parametrize(
    ("policy", "status", "approval"),
    [("reject", "rejected", "timed_out"), ("approve", "completed", "timed_out")],
)
async def test_missed_deadline_applies_policy(
    time_skipping_env: WorkflowEnvironment, tmp_path: Path, policy: str, status: str, approval: str
) -> None:
    rule = {"required": True, "deadline": "P3D", "on_timeout": policy}
    async with running_jobs(time_skipping_env.client, tmp_path) as jobs:
        handle = await jobs.start(spec(approval=rule))
        result = await handle.result()  # the server skips the 3 days once only the timer is left
        state = await handle.state()
    assert result.status == status
    assert state.approval == approval and state.decided_by == "deadline"
    assert bool(result.published) == (policy == "approve")


async def test_escalation_then_reject(time_skipping_env: WorkflowEnvironment, tmp_path: Path) -> None:
    rule = {"required": True, "deadline": "P3D", "on_timeout": "escalate", "escalate_to": "team-lead"}
    async with running_jobs(time_skipping_env.client, tmp_path) as jobs:
        handle = await jobs.start(spec(approval=rule))
        result = await handle.result()
        state = await handle.state()
    assert result.status == "rejected"
    assert state.approval == "timed_out"
    outbox = tmp_path / "artifacts" / "outbox" / handle.job_id / "run1-v0--escalation.json"
    assert "team-lead" in json.loads(outbox.read_text())["message"]
    history = await handle.handle.fetch_history()
    timers = [e for e in history.events if e.HasField("timer_started_event_attributes")]
    assert len(timers) == 2  # the first deadline, then one more after escalating
