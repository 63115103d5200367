"""A graph that waits on its model gets a group's documents analysed at once, in threads of each pool
process, each call still counted once against its own document; a graph that computes keeps one
document at a time (threads would only add GIL contention). Real dev server, real pool processes."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest
from temporalio.client import Client

from orchestration.activities.batch_documents import RunnerPool
from reasoning import default_registry
from reasoning.models import ModelSettings, read_call_log
from tests.support.batches import batch_workers, records, small_spec, start, write_corpus
from tests.support.jobs import make_deps

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]
LATENCY_S = 0.1


def _most_at_once(ends: list[float], window_s: float) -> int:
    """The most calls that ended within any `window_s`: one at a time they end LATENCY_S apart."""
    ends = sorted(ends)
    return max((sum(1 for t in ends[i:] if t - start < window_s) for i, start in enumerate(ends)), default=0)


async def test_a_waiting_graph_runs_a_groups_documents_at_once(temporal_client: Client, tmp_path: Path) -> None:
    corpus, home = write_corpus(tmp_path / "corpus", 50), tmp_path / "home"
    deps = make_deps(home, latency_s=LATENCY_S)
    spec = small_spec(parallelism=1, micro_batch=25, shard_size=50, reduce_fanin=50)
    async with batch_workers(temporal_client, home, deps=deps, batch_processes=2) as (batches, _):
        result = await asyncio.wait_for((await start(batches, deps, spec, [str(corpus)], "threads")).result(), 120)

    assert (result.status, result.done, result.failed) == ("completed", 50, 0)
    calls = [c for c in read_call_log(home / "calls.jsonl") if c["task"] == "summarize"]
    assert Counter(c["hash"] for c in calls).most_common(1)[0][1] == 1  # each document analysed once
    # One at a time, calls end LATENCY_S apart (2 per window at most); in threads, most of a group together.
    assert _most_at_once([c["time"] for c in calls], LATENCY_S * 0.8) >= 5
    # Each document's record carries its own call: meters and ledger units are per thread.
    assert all(r["usage"]["calls"] == 1 for r in records(deps, "threads"))
    assert result.usage.model_calls == len(read_call_log(home / "calls.jsonl"))


def test_only_a_graph_that_waits_gets_threads() -> None:
    pool = RunnerPool(default_registry.get("summarize@1"), ModelSettings(provider="fake"))
    pool.observe(2, wall_s=0.0044, busy_s=0.0005)  # 3.9 ms off the CPU: a disk stall, not a model call
    pool.observe(2, wall_s=0.010, busy_s=0.009)  # a graph that computes
    assert not pool.threaded
    pool.observe(1, wall_s=0.2, busy_s=0.005)  # one run is no probe
    assert not pool.threaded
    pool.observe(2, wall_s=0.21, busy_s=0.006)  # two model calls of 100 ms
    assert pool.threaded
    pool.observe(2, wall_s=0.010, busy_s=0.009)  # a process keeps what it learned for the graph
    assert pool.threaded
