"""A SIGKILLed worker's subtask is retried elsewhere: the stream shows a "retry" marker for
it, and a watcher that applies the attempt rule (`EventTally`) counts its work once."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import uuid
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client

from orchestration.artifacts import LocalArtifactStore
from orchestration.client import ResearchClient
from orchestration.job_stream import JobStream, OffsetEvent
from orchestration.server import ServerRecord
from orchestration.settings import OrchestrationSettings
from orchestration.shared import Tuning
from orchestration.shared.events import EventTally, JobEvent
from tests.support.jobs import spec
from tests.support.processes import worker_env
from tests.support.processes import worker_process as _worker

# Slow enough that the graph is still running when the watcher has seen its first node.
LATENCY_S = 1.2
pytestmark = pytest.mark.slow


def worker_process(server: ServerRecord, home: Path, prefix: str) -> contextlib.AbstractContextManager[Any]:
    env = worker_env(
        server.address, home, prefix,
        DURABLE_RESEARCH_MEMORY_CHUNK_SIZE="400", DURABLE_RESEARCH_MODEL_FAKE_LATENCY_S=str(LATENCY_S),
    )  # fmt: skip
    return _worker(env)


async def test_killed_worker_retry_is_marked_and_counted_once(
    temporal_client: Client, temporal_server: ServerRecord, tmp_path: Path
) -> None:
    prefix = f"ev-{uuid.uuid4().hex[:6]}-"
    jobs = ResearchClient(
        temporal_client,
        queues=OrchestrationSettings(task_queue_prefix=prefix).task_queues(),
        tuning=Tuning(heartbeat_timeout_s=2.0, retry_initial_s=0.2),
        artifacts=LocalArtifactStore(tmp_path / "artifacts"),
    )
    events: list[JobEvent] = []
    with worker_process(temporal_server, tmp_path, prefix) as first:
        handle = await jobs.start(spec(max_subtasks=1, validation_rounds=0))
        reader = JobStream(temporal_client, handle.job_id).events(0, interval_s=0.1)
        async for item in reader:
            assert isinstance(item, OffsetEvent)
            events.append(item.event)
            # A subtask's first model call returned: kill the worker in the middle of that graph
            # (three more calls, 3.6 s, are left: far more than a batch and a poll take to arrive).
            if item.event.kind == "model_call" and item.event.subtask and item.event.node == "read":
                victim = item.event
                break
        first.send_signal(signal.SIGKILL)
        first.wait()
    with worker_process(temporal_server, tmp_path, prefix):
        async for item in reader:  # the same watcher, still connected, sees the retry
            assert isinstance(item, OffsetEvent)
            events.append(item.event)
        result = await asyncio.wait_for(handle.result(), 60)

    # The workflow's own subtask events carry the activity id too, with attempt 0.
    mine = [e for e in events if e.activity_id == victim.activity_id and e.attempt > 0]
    markers = [e for e in mine if e.kind == "retry"]
    assert len(markers) == 1 and markers[0].attempt == 2, [(e.kind, e.attempt) for e in mine]
    marker_at = mine.index(markers[0])
    assert {e.attempt for e in mine[:marker_at]} == {1} and {e.attempt for e in mine[marker_at:]} == {2}

    tally = EventTally()
    for e in events:
        tally.add(e)
    assert tally.retries == 1
    killed = next(t for t in result.subtasks if t.ref.id == victim.subtask)
    assert killed.result is not None
    counts = tally.activities[victim.activity_id]
    # Restart mode re-runs the whole graph: the tally counts the second attempt's nodes and calls only...
    assert counts.attempt == 2 and counts.nodes == len(killed.result.nodes_run)
    assert counts.model_calls == killed.result.model_calls
    # ...while a watcher that summed every event would have counted the first attempt's work too.
    naive = sum(e.kind == "model_call" for e in mine)
    assert naive > counts.model_calls
