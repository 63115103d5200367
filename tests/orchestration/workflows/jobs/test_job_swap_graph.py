"""Swapping the graph for a kind mid-run changes what runs for subtasks not yet started;
a subtask added mid-run is picked up."""

from __future__ import annotations

from pathlib import Path

from temporalio.client import Client

from reasoning import default_registry
from tests.support.jobs import make_deps, running_jobs, spec


async def test_swap_graph_mid_run(temporal_client: Client, tmp_path: Path) -> None:
    deps = make_deps(tmp_path, latency_s=0.3)
    async with running_jobs(temporal_client, tmp_path, deps=deps) as jobs:
        handle = await jobs.start(spec(max_subtasks=3, parallelism=1))
        async for p in handle.watch(interval_s=0.05):
            if p.phase == "researching" and p.running == 1:
                break
        swapped = await handle.swap_graph("research", "researcher-lite@1")
        added = await handle.add_subtask("research", "What does a checkpointer store?")
        result = await handle.result()
        spec_now = await handle.handle.query("spec")

    assert swapped >= 1, "at least one subtask had not started yet"
    graphs = {t.ref.id: t.graph for t in result.subtasks}
    assert result.subtasks[0].graph == "researcher@1"  # already running: keeps its pin
    assert list(graphs.values()).count("researcher-lite@1") == swapped + 1  # + the added one
    assert graphs[added.id] == "researcher-lite@1"
    assert spec_now["graphs"]["research"] == "researcher-lite@1"

    full, lite = (set(default_registry.get(k).nodes()) for k in ("researcher@1", "researcher-lite@1"))
    for task in result.subtasks:
        assert task.status == "done" and task.result is not None
        expected = lite if task.graph == "researcher-lite@1" else full
        assert set(task.result.nodes_run) <= expected
        assert set(task.result.nodes_run) & expected - (full & lite), "ran the other graph's nodes"
