"""A batch survives a SIGKILLed worker and a SIGKILLed Temporal server mid-run: it completes,
every document has exactly one record and one result, and no more documents are analysed twice
than were in flight at the kill (the fake model's call log counts them; its latency makes the
graph one that waits, so a micro-batch's documents run at once in threads); after a worker kill
no finished call is paid twice (the call log).
The batch's usage counts every model call once, a killed attempt's included: it equals the
fake model's call log."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client

from orchestration.activities import pool_size
from orchestration.artifacts import LocalArtifactStore
from orchestration.batch_client import BatchClient, BatchHandle
from orchestration.edge.batch import start_batch
from orchestration.payloads.converter import data_converter
from orchestration.server import EmbeddedServer, _free_port
from orchestration.settings import OrchestrationSettings
from orchestration.shared import Tuning
from orchestration.shared.batch import BatchResult
from reasoning import default_registry
from reasoning.models import read_call_log
from retrieval import MemorySettings, open_memory
from tests.conftest import make_settings
from tests.support.batches import small_spec, write_corpus
from tests.support.processes import worker_env
from tests.support.processes import worker_process as _worker

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]
DOCS, PARALLELISM, WINDOW, MICRO_BATCH = 60, 2, 2, 5
# Every document of every running micro-batch (a waiting graph): a shard's window of them.
IN_FLIGHT = PARALLELISM * WINDOW * MICRO_BATCH


def worker_process(address: str, home: Path, prefix: str) -> contextlib.AbstractContextManager[Any]:
    env = worker_env(
        address, home, prefix, clean=True,
        DURABLE_RESEARCH_MODEL_FAKE_LATENCY_S="0.1", DURABLE_RESEARCH_MODEL_FAKE_CALL_LOG=str(home / "calls.jsonl"),
    )  # fmt: skip
    return _worker(env)


async def _start(client: Client, home: Path, prefix: str, corpus: Path, job: str) -> BatchHandle:
    queues = OrchestrationSettings(task_queue_prefix=prefix).task_queues()
    batches = BatchClient(client, queues=queues, tuning=Tuning(heartbeat_timeout_s=2.0, retry_initial_s=0.2))
    spec = small_spec(micro_batch=MICRO_BATCH, shard_size=30, parallelism=PARALLELISM, window=WINDOW)
    handle, _ = await start_batch(
        batches, spec, [str(corpus)], store=LocalArtifactStore(home / "artifacts"),
        memory=MemorySettings(mode="memory"), registry=default_registry, job_id=job,
    )  # fmt: skip
    return handle


async def _until_recorded(home: Path, job: str, count: int) -> None:
    folder = home / "artifacts" / "jobs" / job / "docs"
    while not folder.is_dir() or len(list(folder.glob("*.json"))) < count:
        await asyncio.sleep(0.05)


def _children(pid: int) -> set[int]:
    """Processes whose parent is `pid` (a worker's document pool, and its resource tracker)."""
    out = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.add(int(entry.name))
    return out


async def _until_gone(pids: set[int], timeout_s: float = 10.0) -> None:
    def alive(pid: int) -> bool:
        try:
            return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
        except OSError:
            return False

    deadline = time.monotonic() + timeout_s
    while any(alive(p) for p in pids):
        assert time.monotonic() < deadline, f"pool processes outlived their worker: {[p for p in pids if alive(p)]}"
        await asyncio.sleep(0.05)


def _check_usage(home: Path, result: BatchResult) -> None:
    """Usage = the calls in the fake model's log: records carry the documents' calls, the usage
    ledger those of a killed attempt's documents in flight. It may miss one call per document in
    flight: one the fake logged in the instant before the kill, before the ledger's line, or one a
    superseded attempt made after its successor finished (the server kill)."""
    log = read_call_log(home / "calls.jsonl")
    assert len(log) - IN_FLIGHT <= result.usage.model_calls <= len(log), (result.usage, len(log))
    assert result.usage.tokens <= sum(c["tokens"] for c in log)
    assert result.usage.cost_usd == 0.0  # the fake model is offline: priced at zero


def _check_exactly_once(home: Path, job: str) -> int:
    """Every document recorded once with one result; returns how many were analysed twice."""
    store = LocalArtifactStore(home / "artifacts")
    assert len(store.keys(f"jobs/{job}/docs")) == DOCS
    assert len(store.keys(f"jobs/{job}/results")) == DOCS
    memory = open_memory(MemorySettings(mode="local"), f"{job}-results", home=home)
    assert memory.count() == DOCS  # content-hash ids: a repeated upsert adds nothing
    summarize_calls = Counter(c["hash"] for c in read_call_log(home / "calls.jsonl") if c["task"] == "summarize")
    assert len(summarize_calls) == DOCS
    return sum(n - 1 for n in summarize_calls.values())


async def test_sigkilled_worker_mid_batch(temporal_client: Client, tmp_path: Path) -> None:
    corpus, home, prefix = write_corpus(tmp_path / "corpus", DOCS), tmp_path / "home", f"k-{uuid.uuid4().hex[:6]}-"
    address = temporal_client.service_client.config.target_host
    with worker_process(address, home, prefix) as first:
        handle = await _start(temporal_client, home, prefix, corpus, "batch-worker-kill")
        await _until_recorded(home, "batch-worker-kill", 15)
        pool = _children(first.pid)
        assert pool or not pool_size(None), "the worker analyses in a document pool (one process per CPU)"
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        await _until_gone(pool)  # the parent-death signal: no orphan goes on calling the model
    with worker_process(address, home, prefix):
        result = await asyncio.wait_for(handle.result(), timeout=180)
    assert (result.status, result.done, result.failed) == ("completed", DOCS, 0)
    # Documents in flight at the kill run again, but their calls that had finished come back from
    # the call log: at most one call is paid twice (one the fake logged in the instant between
    # returning and the log storing it).
    assert _check_exactly_once(home, "batch-worker-kill") <= 1
    _check_usage(home, result)


async def test_sigkilled_server_mid_batch(tmp_path: Path) -> None:
    corpus, home, prefix = write_corpus(tmp_path / "corpus", DOCS), tmp_path / "home", "s-"
    settings = make_settings(tmp_path / "server", temporal_port=_free_port(), ui_port=_free_port())
    server = EmbeddedServer(settings)
    record = server.ensure_started()
    try:
        client = await Client.connect(record.address, data_converter=data_converter(settings))
        with worker_process(record.address, home, prefix):
            handle = await _start(client, home, prefix, corpus, "batch-server-kill")
            await _until_recorded(home, "batch-server-kill", 15)
            os.killpg(record.pid, signal.SIGKILL)
            os.waitpid(record.pid, 0)
            restarted = server.ensure_started()
            assert restarted.port == record.port
            client = await Client.connect(restarted.address, data_converter=data_converter(settings))
            again = client.get_workflow_handle(handle.job_id, result_type=BatchResult)
            result = await asyncio.wait_for(again.result(), timeout=180)
        assert (result.status, result.done, result.failed) == ("completed", DOCS, 0)
    finally:
        server.stop()
    assert _check_exactly_once(home, "batch-server-kill") <= IN_FLIGHT
    _check_usage(home, result)
