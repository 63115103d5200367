"""A worker process SIGKILLed mid-subtask: a new worker finishes the job, finished subtasks
are not re-run, and the report equals a crash-free run's. In resume mode the killed graph
continues from its last finished node; in restart mode it runs from its first node, with the
calls the killed attempt had finished answered from the call log. The job's usage counts the
killed attempt's calls (from the usage ledger) once: it is the crash-free usage plus the calls
the crash repeated (at most the one in flight)."""

from __future__ import annotations

import contextlib
import signal
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from orchestration.activities.reasoning_acts import without_usage_footer
from orchestration.server import ServerRecord
from orchestration.shared import JobResult
from orchestration.shared.spec import subtask_activity_id
from reasoning.models import read_call_log
from tests.support.jobs import spec
from tests.support.processes import process_client, worker_env
from tests.support.processes import worker_process as _worker

LATENCY_S = 0.6
pytestmark = pytest.mark.slow


def worker_process(server: ServerRecord, home: Path, prefix: str) -> contextlib.AbstractContextManager[Any]:
    env = worker_env(
        server.address, home, prefix,
        DURABLE_RESEARCH_MEMORY_CHUNK_SIZE="400", DURABLE_RESEARCH_MODEL_FAKE_LATENCY_S=str(LATENCY_S),
        DURABLE_RESEARCH_MODEL_FAKE_CALL_LOG=str(home / "calls.jsonl"),
    )  # fmt: skip
    return _worker(env)


JOB = {"max_subtasks": 3, "parallelism": 1, "validation_rounds": 0}


async def _clean_run(
    temporal_client: Client, server: ServerRecord, home: Path, recovery: str
) -> tuple[JobResult, str, Counter[str]]:
    prefix = f"clean-{uuid.uuid4().hex[:6]}-"
    with worker_process(server, home, prefix):
        jobs = process_client(temporal_client, home, prefix)
        handle = await jobs.start(spec(**JOB, recovery=recovery))
        result = await handle.result()
    assert result.report is not None
    report = jobs.artifacts.get_text(result.report.key)  # type: ignore[union-attr]
    return result, report, Counter(c["hash"] for c in read_call_log(home / "calls.jsonl"))


async def _crash_run(
    temporal_client: Client, server: ServerRecord, home: Path, recovery: str
) -> tuple[JobResult, str, Counter[str], str, int]:
    """The job's result, report, model calls by content hash, the killed subtask and the
    killed worker's model calls that belong to no finished activity (the killed attempt's)."""
    prefix = f"crash-{uuid.uuid4().hex[:6]}-"
    jobs = process_client(temporal_client, home, prefix)
    with worker_process(server, home, prefix) as first:
        handle = await jobs.start(spec(**JOB, recovery=recovery))
        async for p in handle.watch(interval_s=0.05):
            # Past "retrieve": at least one model-calling node of the graph has finished.
            running = [t for t in p.subtasks if t.status == "running" and t.node not in (None, "retrieve")]
            if p.done >= 1 and running:
                killed = running[0]
                done_before = [t.ref.id for t in p.subtasks if t.status == "done"]
                break
        first.send_signal(signal.SIGKILL)
        first.wait()
    with worker_process(server, home, prefix):
        result = await handle.result()
        history = await handle.handle.fetch_history()
    report = jobs.artifacts.get_text(result.report.key)  # type: ignore[union-attr]
    attempts: dict[str, int] = {}
    scheduled = {}
    for e in history.events:
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            scheduled[e.event_id] = e.activity_task_scheduled_event_attributes.activity_id
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            attrs = e.activity_task_started_event_attributes
            attempts[scheduled[attrs.scheduled_event_id]] = attrs.attempt
    for task in result.subtasks:
        expected = 2 if task.ref.id == killed.ref.id else 1
        assert attempts[subtask_activity_id(task.ref.id, 1)] == expected, task.ref.id
    log = read_call_log(home / "calls.jsonl")
    # The first worker ran the plan and the subtasks done before the kill; its other calls were the killed attempt's.
    finished_there = result.usage_by_phase["planning"].model_calls + sum(
        t.usage.model_calls for t in result.subtasks if t.ref.id in done_before
    )
    killed_calls = sum(c["pid"] == first.pid for c in log) - finished_there
    return result, report, Counter(c["hash"] for c in log), killed.ref.id, killed_calls


@pytest.mark.parametrize("recovery", ["restart", "resume"])
async def test_worker_killed_mid_subtask(
    temporal_client: Client, temporal_server: ServerRecord, tmp_path: Path, recovery: str
) -> None:
    clean, clean_report, clean_calls = await _clean_run(temporal_client, temporal_server, tmp_path / "clean", recovery)
    crash = await _crash_run(temporal_client, temporal_server, tmp_path / "crash", recovery)
    result, report, calls, killed_id, killed_calls = crash

    assert result.status == "completed"
    # The usage footer may differ: a crash costs calls, and a failed attempt's are in no result.
    assert without_usage_footer(report) == without_usage_footer(clean_report), "the crash changed the report"
    repeated = sum((calls - clean_calls).values())
    killed = next(t for t in result.subtasks if t.ref.id == killed_id)
    assert killed.result is not None
    assert repeated <= 1, f"the retry re-ran {repeated} model calls; only the one in flight may repeat"
    if recovery == "restart":
        assert not killed.result.resumed
        assert killed.usage.replayed_calls >= 1, "restart re-runs the graph from its first node, from the call log"
    else:
        assert killed.result.resumed, "resume mode continues the killed graph's thread"
        assert "retrieve" not in killed.result.nodes_run

    # Usage: every call the model answered, once. The killed attempt's calls come from the ledger.
    log = read_call_log(tmp_path / "crash" / "calls.jsonl")
    tokens = {c["hash"]: c["tokens"] for c in log}
    usage = result.usage
    assert (usage.model_calls, usage.tokens) == (len(log), sum(c["tokens"] for c in log))
    repeated_tokens = sum(tokens[h] * n for h, n in (calls - clean_calls).items())
    assert (usage.model_calls, usage.tokens) == (
        clean.usage.model_calls + repeated,
        clean.usage.tokens + repeated_tokens,
    )
    assert killed_calls >= 1, "the kill came after a model-calling node finished"
    assert (killed.usage.lost_attempts, killed.usage.lost_model_calls) == (1, killed_calls)
    assert killed.usage.model_calls == killed.result.usage.model_calls == killed_calls + killed.result.model_calls
    assert usage.lost_model_calls == killed_calls
