"""Real workers SIGKILLed inside a multi-call node, inside a parallel fan-out, and again during
recovery, in both recovery modes: the job finishes with the crash-free report, and the fake
model's call log shows no finished call paid twice (a call in flight at the kill dies with its
worker, unlogged, and is the only one made again). The subtask's usage says how many calls its
retry got back from the call log instead."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client

from orchestration.activities.reasoning_acts import without_usage_footer
from orchestration.artifacts import LocalArtifactStore
from orchestration.server import ServerRecord
from orchestration.shared import JobResult
from reasoning import checkpoint_audit
from reasoning.models import read_call_log
from tests.reasoning.call_log.probe_graph import BRANCHES, CALLS, GATHER_CALLS, GRAPH
from tests.support.jobs import spec
from tests.support.processes import ROOT, process_client, worker_env
from tests.support.processes import worker_process as _worker

LATENCY_S = 0.4
JOB = {"max_subtasks": 1, "parallelism": 1, "validation_rounds": 0, "graphs": {"research": GRAPH}}
pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


@contextlib.contextmanager
def worker(server: ServerRecord, home: Path, prefix: str) -> Iterator[Any]:
    env = worker_env(
        server.address, home, prefix,
        DURABLE_RESEARCH_MODEL_FAKE_LATENCY_S=str(LATENCY_S),
        DURABLE_RESEARCH_MODEL_FAKE_CALL_LOG=str(home / "calls.jsonl"),
        PYTHONPATH=str(ROOT),  # the test graph's module, for `--graphs`
    )  # fmt: skip
    with _worker(env, args=["--graphs", "tests.reasoning.call_log.probe_graph:GRAPHS"]) as proc:
        yield proc


def _calls(home: Path, node: str, pid: int | None = None) -> int:
    return sum(c["node"] == node and pid in (None, c["pid"]) for c in read_call_log(home / "calls.jsonl"))


async def _kill_when(proc: Any, home: Path, node: str, count: int) -> None:
    """SIGKILL `proc` once it has finished `count` calls in `node`, with its next call(s) in flight."""
    deadline = time.monotonic() + 60
    while _calls(home, node, proc.pid) < count:
        assert proc.poll() is None and time.monotonic() < deadline, f"never reached {count} calls in {node}"
        await asyncio.sleep(0.01)
    await asyncio.sleep(LATENCY_S / 4)  # the finished call is stored; the next one is mid-way
    proc.send_signal(signal.SIGKILL)
    proc.wait()


async def _job(
    temporal_client: Client, server: ServerRecord, home: Path, recovery: str, kills: list[tuple[str, int]]
) -> JobResult:
    prefix = f"cl-{uuid.uuid4().hex[:6]}-"
    jobs = process_client(temporal_client, home, prefix)
    handle = None
    for node, count in kills:
        with worker(server, home, prefix) as proc:
            handle = handle or await jobs.start(spec(**JOB, recovery=recovery))
            await _kill_when(proc, home, node, count)
    with worker(server, home, prefix):
        handle = handle or await jobs.start(spec(**JOB, recovery=recovery))
        result = await asyncio.wait_for(handle.result(), 120)
    assert result.status == "completed" and result.report is not None
    return result


def _report(home: Path, result: JobResult) -> str:
    return without_usage_footer(LocalArtifactStore(home / "artifacts").get_text(result.report.key))  # type: ignore[union-attr]


KILLS = {
    "multi-call-node": [("gather", GATHER_CALLS - 1)],
    "fan-out": [("branch", BRANCHES)],  # every branch's first call done, the second ones in flight
    "second-kill": [("gather", 1), ("branch", BRANCHES)],
}


@pytest.mark.parametrize("recovery", ["restart", "resume"])
@pytest.mark.parametrize("point", list(KILLS))
async def test_only_calls_in_flight_are_paid_again(
    temporal_client: Client, temporal_server: ServerRecord, tmp_path: Path, recovery: str, point: str
) -> None:
    if (point, recovery) == ("second-kill", "restart"):
        pytest.skip("the second kill runs in resume mode; restart's replay is the same path as its first kill")
    clean = await _job(temporal_client, temporal_server, tmp_path / "clean", recovery, [])
    crashed = await _job(temporal_client, temporal_server, tmp_path / "crash", recovery, KILLS[point])

    assert _report(tmp_path / "crash", crashed) == _report(tmp_path / "clean", clean)
    paid = Counter(c["hash"] for c in read_call_log(tmp_path / "crash" / "calls.jsonl"))
    clean_paid = Counter(c["hash"] for c in read_call_log(tmp_path / "clean" / "calls.jsonl"))
    assert paid == clean_paid, "a finished call was paid twice (or one was never made)"
    subtask = crashed.subtasks[0]
    assert subtask.result is not None and subtask.usage.model_calls == CALLS
    finished_before = sum(count for _, count in KILLS[point][-1:]) + (GATHER_CALLS if point != "multi-call-node" else 0)
    if recovery == "restart":  # a restart replays everything its predecessor finished
        assert subtask.usage.replayed_calls >= finished_before
    else:
        assert subtask.result.resumed
        assert checkpoint_audit(tmp_path / "crash" / "checkpoints")["forked_threads"] == 0
