"""A batch's documents and reduce steps in the worker's process pool, on the real dev server.

The graphs run in spawned processes (the fake model logs each call's pid), the worker keeps the
memory writes and the records; a pool process SIGKILLed mid-batch costs at most the documents in
flight, never a result; a graph that cannot cross to a process runs in the worker instead.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from langgraph.graph import END, START, StateGraph
from temporalio.client import Client

from orchestration.shared.batch import results_collection
from reasoning import DocumentAnalysis, DocumentInput, GraphRegistry, default_registry
from reasoning.models import read_call_log
from tests.support.batches import batch_workers, records, result_files, small_spec, start, write_corpus
from tests.support.jobs import make_deps

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]
PROCESSES = 2


def _summaries(home: Path) -> list[dict[str, Any]]:
    return [c for c in read_call_log(home / "calls.jsonl") if c["task"] == "summarize"]


async def test_documents_and_reduce_steps_run_in_pool_processes(temporal_client: Client, tmp_path: Path) -> None:
    corpus, home = write_corpus(tmp_path / "corpus", 40), tmp_path / "home"
    async with batch_workers(temporal_client, home, batch_processes=PROCESSES) as (batches, deps):
        handle = await start(batches, deps, small_spec(), [str(corpus)], "pool-batch")
        result = await asyncio.wait_for(handle.result(), timeout=120)
    assert (result.status, result.done, result.failed) == ("completed", 40, 0)
    calls = read_call_log(home / "calls.jsonl")
    pids = {c["pid"] for c in calls}
    assert os.getpid() not in pids  # every model call, documents' and reduce steps', ran in the pool
    assert 1 <= len(pids) <= PROCESSES
    assert {c["task"] for c in calls} >= {"summarize", "synthesize"}
    assert Counter(c["hash"] for c in _summaries(home)).most_common(1)[0][1] == 1  # each document once
    assert len(records(deps, "pool-batch")) == len(result_files(deps, "pool-batch")) == 40
    assert deps.memory(results_collection("pool-batch")).count() == 40  # indexed by the worker's process
    assert result.usage.model_calls == len(calls)  # records and reduce steps carry every call


async def test_a_pool_process_killed_mid_batch_costs_no_result(temporal_client: Client, tmp_path: Path) -> None:
    corpus, home = write_corpus(tmp_path / "corpus", 60), tmp_path / "home"
    deps = make_deps(home, latency_s=0.03)  # long enough to kill a process mid-batch
    async with batch_workers(temporal_client, home, deps=deps, batch_processes=PROCESSES) as (batches, _):
        handle = await start(batches, deps, small_spec(micro_batch=5, shard_size=20), [str(corpus)], "pool-kill")
        while len(_summaries(home)) < 10:
            await asyncio.sleep(0.02)
        victim = _summaries(home)[-1]["pid"]
        os.kill(victim, signal.SIGKILL)
        result = await asyncio.wait_for(handle.result(), timeout=150)
    assert (result.status, result.done, result.failed) == ("completed", 60, 0)
    assert len(records(deps, "pool-kill")) == len(result_files(deps, "pool-kill")) == 60
    runs = Counter(c["hash"] for c in _summaries(home))
    assert len(runs) == 60
    # The broken pool loses the documents its processes were in, nothing recorded: a graph that
    # waits on its model runs a group's documents at once (micro-batches of 5 here), else one each.
    assert sum(n - 1 for n in runs.values()) <= PROCESSES * 5
    assert victim not in {c["pid"] for c in _summaries(home)[-5:]}


async def test_a_graph_that_cannot_cross_to_a_process_runs_in_the_worker(
    temporal_client: Client, tmp_path: Path
) -> None:
    registry = GraphRegistry()
    for spec in default_registry.list():
        registry.add(spec)

    def node(state: dict[str, Any]) -> dict[str, Any]:
        return {"source": state["source"], "summary": f"local: {state['source']}", "claims": []}

    def factory() -> StateGraph[Any, Any, Any, Any]:  # a closure: pickling it fails
        graph: StateGraph[Any, Any, Any, Any] = StateGraph(dict)
        graph.add_node("summarize", node)
        graph.add_edge(START, "summarize")
        graph.add_edge("summarize", END)
        return graph

    registry.register("local-summary", "1", input_model=DocumentInput, output_model=DocumentAnalysis)(factory)
    home = tmp_path / "home"
    deps = make_deps(home)
    deps.registry = registry
    corpus = write_corpus(tmp_path / "corpus", 12)
    async with batch_workers(temporal_client, home, deps=deps, batch_processes=PROCESSES) as (batches, _):
        spec = small_spec(graph="local-summary@1")
        handle = await start(batches, deps, spec, [str(corpus)], "pool-local")
        result = await asyncio.wait_for(handle.result(), timeout=120)
    assert (result.status, result.done, result.failed) == ("completed", 12, 0)
    assert all(r["graph"] == "local-summary@1" for r in records(deps, "pool-local"))
