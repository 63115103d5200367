"""Approval: approve publishes, reject publishes nothing, revise re-runs the writer with notes;
updates outside the approval wait, or with malformed payloads, are refused at the caller."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import Client, WorkflowUpdateFailedError

from orchestration.client import JobClosedError
from tests.support.jobs import running_jobs, spec, wait_for_phase

WAIT = {"required": True, "deadline": "P3D", "on_timeout": "reject"}


async def test_approve_publishes(temporal_client: Client, tmp_path: Path) -> None:
    async with running_jobs(temporal_client, tmp_path) as jobs:
        handle = await jobs.start(spec(approval=WAIT))
        waiting = await wait_for_phase(handle, "awaiting_approval")
        assert waiting.report is not None and waiting.approval == "pending"
        assert (await handle.approve(by="alice")).phase in ("awaiting_approval", "publishing")
        result = await handle.result()
        state = await handle.state()
    assert result.status == "completed"
    assert [p.step for p in result.published] == ["artifact", "index", "notify"]
    assert state.approval == "approved" and state.decided_by == "alice"


async def test_reject_publishes_nothing(temporal_client: Client, tmp_path: Path) -> None:
    async with running_jobs(temporal_client, tmp_path) as jobs:
        handle = await jobs.start(spec(approval=WAIT))
        await wait_for_phase(handle, "awaiting_approval")
        await handle.reject(by="bob", notes="not convincing")
        result = await handle.result()
    assert result.status == "rejected"
    assert result.published == [] and result.compensated == []
    assert not (tmp_path / "artifacts" / "published").exists()


async def test_revise_reruns_the_writer(temporal_client: Client, tmp_path: Path) -> None:
    async with running_jobs(temporal_client, tmp_path) as jobs:
        handle = await jobs.start(spec(approval=WAIT))
        first = (await wait_for_phase(handle, "awaiting_approval")).report
        await handle.revise(notes="Add a section on retries.")
        # The revision writes report-v1 and waits for approval again.
        async for p in handle.watch(interval_s=0.1):
            if p.phase == "awaiting_approval" and p.report and p.report.key != first.key:
                second = p.report
                break
        await handle.approve()
        result = await handle.result()
        state = await handle.state()
    assert first.key.endswith("run1/report-v0.md") and second.key.endswith("run1/report-v1.md")
    assert result.report == second
    assert state.revisions == ["Add a section on retries."]


async def test_refusals_leave_no_trace(temporal_client: Client, tmp_path: Path) -> None:
    async with running_jobs(temporal_client, tmp_path) as jobs:
        handle = await jobs.start(spec(approval=WAIT))
        await wait_for_phase(handle, "awaiting_approval")
        events_before = len((await handle.handle.fetch_history()).events)

        with pytest.raises(WorkflowUpdateFailedError) as blank:
            await handle.revise(notes="   ")
        assert "needs notes" in str(blank.value.cause)
        with pytest.raises(WorkflowUpdateFailedError):  # malformed payload: not a Decision
            await handle.handle.execute_update("approve", {"by": 42, "notes": ["x"]})
        with pytest.raises(WorkflowUpdateFailedError) as kind:
            await handle.swap_graph("research", "researcher-lite@1")
        assert "cannot swap a graph: the job is awaiting_approval" in str(kind.value.cause)

        history = await handle.handle.fetch_history()
        kinds = {e.WhichOneof("attributes") for e in history.events[events_before:]}
        assert not any("update" in (k or "") for k in kinds), kinds

        await handle.approve()
        await handle.result()
        with pytest.raises(JobClosedError, match="has already ended"):
            await handle.approve()
