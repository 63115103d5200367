"""Swapping the graph registered for a kind changes what runs and what comes out."""

from __future__ import annotations

from reasoning import (
    Finding,
    GraphContext,
    GraphRegistry,
    ResearchInput,
    Subtask,
    default_registry,
    run_graph,
)
from reasoning.graphs import make_researcher_graph, make_researcher_lite_graph

SUBTASK = Subtask(id="s1", kind="research", question="What does Chroma store?")


def _run_kind(kind_to_graph: dict[str, str], ctx: GraphContext):
    spec = default_registry.get(kind_to_graph[SUBTASK.kind])
    return run_graph(spec, ResearchInput(subtask=SUBTASK), context=ctx)


def test_pinning_another_graph_for_a_kind_changes_the_run(fake_ctx: GraphContext) -> None:
    full = _run_kind({"research": "researcher@1"}, fake_ctx)
    lite = _run_kind({"research": "researcher-lite@1"}, fake_ctx)
    assert full.nodes_run == ["retrieve", "read", "draft", "check", "finalize"]
    assert lite.nodes_run == ["retrieve", "answer"]
    assert (full.model_calls, lite.model_calls) == (3, 1)
    assert Finding.model_validate(full.output).answer != Finding.model_validate(lite.output).answer


def test_a_new_version_becomes_the_default_and_the_old_one_stays() -> None:
    registry = GraphRegistry()
    registry.add(default_registry.get("researcher@1"))
    registry.register("researcher", "2", input_model=ResearchInput, output_model=Finding)(make_researcher_lite_graph)
    assert registry.get("researcher").key == "researcher@2"
    assert registry.get("researcher").factory is make_researcher_lite_graph
    assert registry.get("researcher@1").factory is make_researcher_graph
