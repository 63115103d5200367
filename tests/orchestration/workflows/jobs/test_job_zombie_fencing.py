"""A worker paused mid-subtask past its heartbeat timeout (a zombie) cannot fork a thread or call the model.

Real `durable-research worker` processes and the real dev server: worker 1 runs a subtask
and is SIGSTOPped mid-graph; once the heartbeat timed out and a new attempt on worker 2 has
made progress on the same thread, worker 1 gets SIGCONT and its old attempt wakes up with a
model answer in hand. Its writes are refused (fencing), it makes no model call after its
successor claimed the thread (the call log checks the owner before each call), the report
equals a crash-free run's, and no artifact is duplicated; in resume mode every checkpoint
chain is linear and no graph was re-run from its input.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.enums.v1 import PendingActivityState
from temporalio.client import Client

from orchestration.activities.reasoning_acts import without_usage_footer
from orchestration.client import JobHandle, ResearchClient
from orchestration.server import ServerRecord
from orchestration.shared.spec import subtask_activity_id
from reasoning import checkpoint_audit
from reasoning.models import read_call_log
from tests.retrieval.conftest import chroma_url  # noqa: F401  (a real `chroma run` for both workers)
from tests.support.jobs import spec
from tests.support.processes import process_client, worker_env
from tests.support.processes import worker_process as _worker

LATENCY_S = 0.6
JOB = {"max_subtasks": 3, "parallelism": 1, "validation_rounds": 0}
pytestmark = pytest.mark.slow


def worker_process(
    server: ServerRecord, home: Path, prefix: str, log: Path, memory_url: str
) -> contextlib.AbstractContextManager[Any]:
    # A Chroma server, not a local folder: the paused worker keeps its folder locked.
    home.mkdir(parents=True, exist_ok=True)
    env = worker_env(
        server.address, home, prefix,
        DURABLE_RESEARCH_MEMORY_MODE="http", DURABLE_RESEARCH_MEMORY_URL=memory_url,
        DURABLE_RESEARCH_MEMORY_CHUNK_SIZE="400", DURABLE_RESEARCH_MODEL_FAKE_LATENCY_S=str(LATENCY_S),
        DURABLE_RESEARCH_MODEL_FAKE_CALL_LOG=str(home / "calls.jsonl"),
    )  # fmt: skip
    return _worker(env, log=log)


def _client(temporal_client: Client, home: Path, prefix: str) -> ResearchClient:
    # Attempts to spare: retries handed to the stopped worker's open polls time out too.
    return process_client(temporal_client, home, prefix, reasoning_attempts=8)


def _artifacts(home: Path, job_id: str) -> dict[str, str]:
    root = home / "artifacts" / "jobs" / job_id
    # Reports without their usage footer: a pause costs calls, and a superseded attempt's are in no result.
    files = sorted(p for p in root.rglob("*") if p.is_file())
    return {str(p.relative_to(root)): without_usage_footer(p.read_text()) for p in files}


async def _clean_run(
    temporal_client: Client, server: ServerRecord, home: Path, memory_url: str, recovery: str
) -> tuple[str, dict[str, str]]:
    prefix = f"clean-{uuid.uuid4().hex[:6]}-"
    with worker_process(server, home, prefix, home.parent / "clean-worker.log", memory_url):
        jobs = _client(temporal_client, home, prefix)
        handle = await jobs.start(spec(**JOB, recovery=recovery))
        result = await handle.result()
    assert result.report is not None
    return without_usage_footer(jobs.artifacts.get_text(result.report.key)), _artifacts(home, handle.job_id)


async def _pending(handle: JobHandle, activity_id: str) -> Any:
    """The activity's pending info from the server (the stopped worker cannot answer queries)."""
    desc = await handle.handle.describe()
    return next((p for p in desc.raw_description.pending_activities if p.activity_id == activity_id), None)


def _started_by(info: Any, pid: int) -> bool:
    return info.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED and (
        info.last_worker_identity.startswith(f"{pid}@")
    )


async def _wait(what: str, check: Callable[[], Awaitable[bool]], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not await check():
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout_s} s"
        await asyncio.sleep(0.1)


@pytest.mark.parametrize("recovery", ["restart", "resume"])
async def test_a_paused_worker_cannot_fork_a_graph_or_call_the_model(
    temporal_client: Client,
    temporal_server: ServerRecord,
    tmp_path: Path,
    chroma_url: str,  # noqa: F811
    recovery: str,
) -> None:
    clean = await _clean_run(temporal_client, temporal_server, tmp_path / "clean", chroma_url, recovery)
    clean_report, clean_artifacts = clean

    home, prefix = tmp_path / "zombie", f"zombie-{uuid.uuid4().hex[:6]}-"
    jobs = _client(temporal_client, home, prefix)
    with worker_process(temporal_server, home, prefix, tmp_path / "worker1.log", chroma_url) as first:
        handle = await jobs.start(spec(**JOB, recovery=recovery))
        async for p in handle.watch(interval_s=0.05):
            # Past "retrieve": the graph is in a model-calling node, with checkpoints behind it.
            running = [t for t in p.subtasks if t.status == "running" and t.node not in (None, "retrieve")]
            if running:
                stopped = running[0]
                break
        first.send_signal(signal.SIGSTOP)
        activity_id = subtask_activity_id(stopped.ref.id, stopped.round)

        async def stale_retry() -> bool:  # a retry handed to the stopped worker's open poll
            info = await _pending(handle, activity_id)
            return info is not None and info.attempt >= 2 and _started_by(info, first.pid)

        await _wait("a retry dispatched to the stopped worker", stale_retry)
        with worker_process(temporal_server, home, prefix, tmp_path / "worker2.log", chroma_url) as second:
            seen: list[int] = []

            async def newer_attempt_working() -> bool:  # it claimed the thread and reported a node, or finished
                info = await _pending(handle, activity_id)
                if info is None:
                    return bool(seen)
                if _started_by(info, second.pid):
                    seen.append(info.attempt)
                    return info.last_heartbeat_time.ToNanoseconds() >= info.last_started_time.ToNanoseconds()
                return False

            await _wait("a newer attempt on the second worker", newer_attempt_working)
            woke = time.time()
            first.send_signal(signal.SIGCONT)  # the zombie and its stale retries wake up
            result = await asyncio.wait_for(handle.result(), 120)

    assert result.status == "completed"
    report = without_usage_footer(jobs.artifacts.get_text(result.report.key))  # type: ignore[union-attr]
    assert report == clean_report, "the pause changed the report"
    assert _artifacts(home, handle.job_id) == clean_artifacts, "artifacts differ from a crash-free run's"
    # The zombie attempt started no model call after it woke (its successor owned the thread by
    # then); only a call it was inside when it was stopped may have finished. Worker 1 itself,
    # awake again, may run other activities: only the stopped subtask's thread counts.
    late = [
        c for c in read_call_log(home / "calls.jsonl")
        if c["pid"] == first.pid and c["thread"].endswith(f"/{activity_id}") and c["started"] >= woke
    ]  # fmt: skip
    assert late == [], f"the zombie made {len(late)} model calls after its successor took over"
    assert "Superseded attempt" in (tmp_path / "worker1.log").read_text(), "no stale attempt was fenced"
    if recovery == "resume":
        audit = checkpoint_audit(home / "checkpoints")
        assert audit["threads"] >= len(result.subtasks)
        assert audit["forked_threads"] == 0, audit
        assert audit["rerun_from_input"] == 0, audit
