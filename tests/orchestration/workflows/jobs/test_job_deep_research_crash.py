"""Real workers SIGKILLed in the middle of a deep-researcher tool loop, in both recovery modes, and around
a tool the workflow runs as an activity and a question waiting for a person: the job finishes with the
crash-free report, no finished model call is paid twice and no finished tool call runs twice."""

from __future__ import annotations

import asyncio
import contextlib
import json
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
from orchestration.client import JobHandle, ResearchClient
from orchestration.server import ServerRecord
from orchestration.shared import JobResult
from reasoning.models import read_call_log
from tests.support import tool_fixtures
from tests.support.jobs import spec
from tests.support.processes import ROOT, process_client, worker_env
from tests.support.processes import worker_process as _worker

LATENCY_S = 0.4
pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


def _job(tools: list[str], recovery: str) -> dict[str, Any]:
    return spec(
        graphs={"research": "deep-researcher@1"}, max_subtasks=1, validation_rounds=0, recovery=recovery,
        tools={"research": tools},
    )  # fmt: skip


@contextlib.contextmanager
def worker(server: ServerRecord, home: Path, prefix: str) -> Iterator[Any]:
    env = worker_env(
        server.address, home, prefix,
        DURABLE_RESEARCH_MODEL_FAKE_LATENCY_S=str(LATENCY_S),
        DURABLE_RESEARCH_MODEL_FAKE_CALL_LOG=str(home / "calls.jsonl"),
        PYTHONPATH=str(ROOT), **{tool_fixtures.RUNS_FILE: str(home / "tool-runs.jsonl")},
    )  # fmt: skip
    with _worker(env, args=["--tools", "tests.support.tool_fixtures:TOOLS"]) as proc:
        yield proc


def _tool_runs(home: Path) -> list[str]:
    path = home / "tool-runs.jsonl"
    return [json.loads(line)["tool"] for line in path.read_text().splitlines()] if path.exists() else []


async def _until(what: str, check: Any, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"{what} did not happen"
        await asyncio.sleep(0.01)


def _kill(proc: Any) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait()


async def _clean(
    temporal_client: Client, server: ServerRecord, home: Path, job: dict[str, Any]
) -> tuple[str, Counter[str]]:
    prefix = f"dr-clean-{uuid.uuid4().hex[:6]}-"
    jobs = process_client(temporal_client, home, prefix)
    with worker(server, home, prefix):
        handle = await jobs.start(job)
        result = await _finish(handle, answer="ask_person" in job["tools"]["research"])
    return _report(jobs, result), Counter(c["hash"] for c in read_call_log(home / "calls.jsonl"))


async def _asking(handle: JobHandle) -> bool:
    return any(t.question for t in (await handle.progress()).subtasks)


async def _finish(handle: JobHandle, *, answer: bool) -> JobResult:
    """The job's result; with `answer`, its graph's question answered when it asks."""
    result = asyncio.ensure_future(handle.result())
    while answer and not result.done():
        if await _asking(handle):
            await handle.answer("The 1.2 release.", by="tester")
            break
        await asyncio.sleep(0.05)
    return await asyncio.wait_for(result, 120)


def _report(jobs: ResearchClient, result: JobResult) -> str:
    assert result.status == "completed" and result.report is not None
    return without_usage_footer(jobs.artifacts.get_text(result.report.key))


@pytest.mark.parametrize("recovery", ["restart", "resume"])
async def test_a_kill_in_the_tool_loop_repeats_no_finished_call(
    temporal_client: Client, temporal_server: ServerRecord, tmp_path: Path, recovery: str
) -> None:
    job = _job(["search_memory", "note_fact"], recovery)
    clean_report, clean_calls = await _clean(temporal_client, temporal_server, tmp_path / "clean", job)

    home, prefix = tmp_path / "crash", f"dr-{uuid.uuid4().hex[:6]}-"
    jobs = process_client(temporal_client, home, prefix)
    with worker(temporal_server, home, prefix) as first:
        handle = await jobs.start(job)
        # The inline tool ran (after a search and two model turns); the next model turn is in flight.
        await _until("note_fact ran", lambda: _tool_runs(home) == ["note_fact"])
        await asyncio.sleep(LATENCY_S / 4)
        _kill(first)
    with worker(temporal_server, home, prefix):
        result = await _finish(handle, answer=False)

    assert _report(jobs, result) == clean_report
    assert _tool_runs(home) == ["note_fact"], "a finished tool call ran again"
    assert Counter(c["hash"] for c in read_call_log(home / "calls.jsonl")) == clean_calls
    assert result.subtasks[0].usage.replayed_calls >= (2 if recovery == "restart" else 0)


async def test_an_activity_tool_and_a_question_survive_worker_kills(
    temporal_client: Client, temporal_server: ServerRecord, tmp_path: Path
) -> None:
    job = _job(["search_memory", "lookup_ticket", "ask_person"], "restart")
    clean_report, clean_calls = await _clean(temporal_client, temporal_server, tmp_path / "clean", job)

    home, prefix = tmp_path / "crash", f"dr-{uuid.uuid4().hex[:6]}-"
    jobs = process_client(temporal_client, home, prefix)
    with worker(temporal_server, home, prefix) as first:
        handle = await jobs.start(job)
        # The workflow ran the lifted tool as its own activity; the graph's next segment is under way.
        await _until("the lifted tool ran", lambda: _tool_runs(home) == ["lookup_ticket"])
        await asyncio.sleep(LATENCY_S / 4)
        _kill(first)
    with worker(temporal_server, home, prefix) as second:
        while not await _asking(handle):  # the graph asks the person; nothing runs while the job waits
            await asyncio.sleep(0.05)
        _kill(second)
    with worker(temporal_server, home, prefix):  # the question waits in the workflow's state, not in a worker
        await handle.answer("The 1.2 release.", by="tester")
        result = await _finish(handle, answer=False)

    assert _report(jobs, result) == clean_report
    assert _tool_runs(home) == ["lookup_ticket"], "the lifted tool ran twice"
    assert Counter(c["hash"] for c in read_call_log(home / "calls.jsonl")) == clean_calls
    assert result.subtasks[0].steps == 2
