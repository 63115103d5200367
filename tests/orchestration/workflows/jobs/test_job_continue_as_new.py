"""Under a low history limit the job continues-as-new at safe points and keeps all its
state and every update it accepted."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from tests.support.jobs import running_jobs, spec, wait_for_phase
from tests.support.processes import low_limit_client as private_server


@pytest.fixture
async def low_limit_client(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Client]:
    """A private server that suggests continue-as-new after 40 events (default 4,096)."""
    async with private_server(tmp_path_factory.mktemp("can-server"), 40) as client:
        yield client


async def test_continue_as_new_keeps_state_and_updates(low_limit_client: Client, tmp_path: Path) -> None:
    rule = {"required": True, "deadline": "P3D"}
    async with running_jobs(low_limit_client, tmp_path) as jobs:
        handle = await jobs.start(spec(max_subtasks=4, approval=rule))
        first = await wait_for_phase(handle, "awaiting_approval")
        notes = ["Add a section on retries.", "Shorten the introduction."]
        for note in notes:
            await handle.revise(notes=note)
            await wait_for_phase(handle, "awaiting_approval")
        await handle.approve(by="dana")
        result = await handle.result()
        state = await handle.state()

    assert state.continued >= 1, "the low limit must have triggered continue-as-new"
    assert state.revisions == notes
    assert state.decided_by == "dana" and result.status == "completed"
    assert result.report is not None and result.report.key.endswith("report-v2.md")
    assert [t.ref.id for t in result.subtasks] == [t.ref.id for t in first.subtasks]
    assert all(t.result is not None for t in result.subtasks)

    # The first run of the chain ended by continuing as new.
    desc = await handle.handle.describe()
    history = await low_limit_client.get_workflow_handle(
        handle.job_id, run_id=desc.raw_description.workflow_execution_info.first_run_id
    ).fetch_history()
    assert history.events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
