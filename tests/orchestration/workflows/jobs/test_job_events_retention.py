"""The event stream stays bounded: the workflow keeps the newest `event_retention` items, a
late watcher is told what was truncated and then reads the rest, a live watcher follows
the job across continue-as-new, and the state carried into the next run is bounded too."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from orchestration.job_stream import JobStream, OffsetEvent, StreamGap
from orchestration.shared import JobInput, Tuning
from tests.support.jobs import running_jobs, spec, wait_for_phase
from tests.support.processes import low_limit_client as private_server

RETENTION = 12


@pytest.fixture
async def low_limit_client(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Client]:
    """A private server that suggests continue-as-new after 40 events (default 4,096)."""
    async with private_server(tmp_path_factory.mktemp("events-can-server"), 40) as client:
        yield client


async def _read(stream: JobStream, start: int = 0) -> list[OffsetEvent | StreamGap]:
    async with contextlib.aclosing(stream.events(start, interval_s=0.05)) as events:
        return [item async for item in events]


def _covered(items: list[OffsetEvent | StreamGap]) -> list[int]:
    out: list[int] = []
    for item in items:
        out.extend(range(item.start, item.end) if isinstance(item, StreamGap) else [item.offset])
    return out


async def test_bounded_stream_across_continue_as_new(low_limit_client: Client, tmp_path: Path) -> None:
    tuning = Tuning(retry_initial_s=0.2, event_retention=RETENTION)
    async with running_jobs(low_limit_client, tmp_path, tuning=tuning) as jobs:
        handle = await jobs.start(spec(max_subtasks=3, approval={"required": True, "deadline": "P3D"}))
        stream = JobStream(low_limit_client, handle.job_id)
        live = asyncio.create_task(_read(stream))
        await wait_for_phase(handle, "awaiting_approval")
        await handle.revise(notes="Add a section on retries.")
        await wait_for_phase(handle, "awaiting_approval")
        await handle.approve(by="dana")
        result = await handle.result()
        seen_live = await asyncio.wait_for(live, 30)
        end = await stream.end_offset()
        late = await _read(stream)
        state = await handle.state()

    assert result.status == "completed" and state.continued >= 1, "the low limit must have continued the job"
    # Live: every offset once, in order; whatever was truncated before it was read is reported as a gap.
    assert _covered(seen_live) == list(range(end))
    live_events = [i.event for i in seen_live if isinstance(i, OffsetEvent)]
    phases = [e.phase for e in live_events if e.kind == "phase"]
    assert phases[-1] == "completed" and "writing" in phases, "the watcher followed the job into its new run"

    # Late: the truncated part is one gap, then exactly the retained newest items.
    assert isinstance(late[0], StreamGap) and (late[0].start, late[0].end) == (0, end - RETENTION)
    kept = late[1:]
    assert [i.offset for i in kept] == list(range(end - RETENTION, end))  # type: ignore[union-attr]
    assert kept[-1].event.phase == "completed"  # type: ignore[union-attr]

    # What continue-as-new carried: the retained items only, not the whole log.
    desc = await handle.handle.describe()
    first_run = low_limit_client.get_workflow_handle(
        handle.job_id, run_id=desc.raw_description.workflow_execution_info.first_run_id
    )
    history = await first_run.fetch_history()
    last = history.events[-1]
    assert last.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
    payloads = last.workflow_execution_continued_as_new_event_attributes.input.payloads
    (carried,) = await low_limit_client.data_converter.decode(payloads, [JobInput])
    assert carried.events is not None and 0 < len(carried.events.log) <= RETENTION
    assert carried.events.base_offset > 0, "the first run's log was longer than the retention"
