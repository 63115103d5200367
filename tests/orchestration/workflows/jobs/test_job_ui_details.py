"""What the Temporal UI shows of a job, read back the way the UI reads it: the start summary
(describe), each activity's summary (the history's user metadata) and the workflow's current
details (the `__temporal_workflow_metadata` query)."""

from __future__ import annotations

from pathlib import Path

from temporalio.api.enums.v1 import EventType
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import Client

from tests.support.jobs import running_jobs, spec, wait_for_phase


async def _current_details(handle: object) -> str:
    meta = await handle.handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)  # type: ignore[attr-defined]
    return meta.current_details


async def test_ui_shows_summaries_and_current_details(temporal_client: Client, tmp_path: Path) -> None:
    async with running_jobs(temporal_client, tmp_path) as jobs:
        handle = await jobs.start(spec(max_subtasks=2, approval={"required": True}, validation_rounds=0))
        waiting = await wait_for_phase(handle, "awaiting_approval")

        details = await _current_details(handle)
        assert details.splitlines()[0] == "**awaiting_approval** (run 1)"
        assert f"{waiting.done} done" in details and "approval: pending" in details

        desc = await handle.handle.describe()
        assert await desc.static_summary() == "research job · model fake · 1 corpus source(s)"

        history = await handle.handle.fetch_history()
        converter = temporal_client.data_converter
        summaries = []
        for e in history.events:
            if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                payload = e.user_metadata.summary
                (summary,) = await converter.decode([payload], [str])  # the codec too, as the UI's codec server
                summaries.append(summary)
        assert summaries[0].startswith("ingest 1 source(s)")
        assert summaries[1] == "plan · graph planner@1"
        expected = {f"subtask {t.ref.id} ({t.ref.kind}) · graph {t.graph} · round 1" for t in waiting.subtasks}
        assert expected <= set(summaries), summaries
        assert any(s.startswith("validate · graph ") for s in summaries)
        assert summaries[-1].startswith("write · graph ") and summaries[-1].endswith("revision 0")

        await handle.approve(by="test")
        result = await handle.result()
        assert result.status == "completed"
        assert (await _current_details(handle)).splitlines()[0] == "**completed** (run 1)"
