"""A watcher that disconnects mid-job and reconnects with its offset sees every event once,
and what it saw equals a fresh read of the whole stream after the job ended."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from temporalio.client import Client

from orchestration.job_stream import JobStream, OffsetEvent, StreamGap
from orchestration.shared.events import EventTally
from reasoning.models import read_call_log
from tests.support.jobs import make_deps, running_jobs, spec


async def _read(stream: JobStream, start: int, *, stop_after: str | None = None) -> list[OffsetEvent]:
    """Events from `start`; with `stop_after`, disconnect right after the first event of that kind."""
    seen: list[OffsetEvent] = []
    async with contextlib.aclosing(stream.events(start)) as events:
        async for item in events:
            assert not isinstance(item, StreamGap), f"nothing was truncated, yet a gap: {item}"
            seen.append(item)
            if stop_after is not None and item.event.kind == stop_after:
                break
    return seen


async def test_reconnect_from_offset_sees_every_event_once(temporal_client: Client, tmp_path: Path) -> None:
    deps = make_deps(tmp_path, latency_s=0.1)
    async with running_jobs(temporal_client, tmp_path, deps=deps) as jobs:
        handle = await jobs.start(spec(max_subtasks=3, parallelism=1, validation_rounds=0))
        stream = JobStream(temporal_client, handle.job_id)

        first = await asyncio.wait_for(_read(stream, 0, stop_after="subtask_finished"), 60)
        resume_at = first[-1].offset + 1
        # Disconnected while the job goes on: wait until it published more than we saw.
        while await stream.end_offset() <= resume_at + 3:
            await asyncio.sleep(0.05)
        second = await asyncio.wait_for(_read(stream, resume_at), 60)
        result = await handle.result()
        whole = await asyncio.wait_for(_read(stream, 0), 30)

    watched = first + second
    offsets = [e.offset for e in watched]
    assert offsets == list(range(len(watched))), "offsets skipped or repeated across the reconnect"
    assert second and second[0].offset == resume_at
    assert [e.model_dump() for e in (x.event for x in watched)] == [e.event.model_dump() for e in whole]

    kinds = [e.event.kind for e in watched]
    assert kinds.count("subtask_started") == kinds.count("subtask_finished") == len(result.subtasks)
    assert [e.event.phase for e in watched if e.event.kind == "phase"][-1] == "completed"
    tally = EventTally()
    for e in watched:
        tally.add(e.event)
    # Every model call the fake provider served shows up once, with its tokens.
    assert tally.total("model_calls") == len(read_call_log(tmp_path / "calls.jsonl"))
    assert tally.total("tokens_in") > 0 and tally.total("tokens_out") > 0
    assert tally.retries == 0 and tally.ignored == 0
    node_events = [e.event for e in watched if e.event.kind == "node_finished"]
    assert all(e.attempt == 1 and e.activity_id and e.seconds is not None for e in node_events)
    for task in result.subtasks:
        assert task.result is not None
        mine = [e.node for e in node_events if e.subtask == task.ref.id]
        assert mine == task.result.nodes_run, f"{task.ref.id}: node events differ from the nodes it ran"
