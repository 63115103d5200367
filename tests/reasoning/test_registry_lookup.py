"""Registry lookup: decorator registration, coexisting versions, clear errors for unknown keys."""

from __future__ import annotations

import pytest
from langgraph.graph import END, START, StateGraph
from typing_extensions import TypedDict

from reasoning import (
    GraphNotFoundError,
    GraphRegistry,
    PlannerInput,
    PlannerOutput,
    default_registry,
)


class _S(TypedDict, total=False):
    question: str


def _graph(*names: str) -> StateGraph:
    graph = StateGraph(_S)
    previous = START
    for name in names:
        graph.add_node(name, lambda s: {})
        graph.add_edge(previous, name)
        previous = name
    graph.add_edge(previous, END)
    return graph


def test_versions_coexist_and_bare_name_means_highest() -> None:
    registry = GraphRegistry()
    for version in ("1", "2", "10"):

        @registry.register("echo", version, input_model=PlannerInput, output_model=PlannerOutput)
        def factory(v=version):
            return _graph(f"step_v{v}")

    assert registry.keys() == ["echo@1", "echo@10", "echo@2"]
    assert registry.get("echo").version == "10"  # numeric, not lexical
    assert registry.get("echo@2").nodes() == ["step_v2"]


def test_decorator_returns_the_factory_and_describes_the_graph() -> None:
    registry = GraphRegistry()

    @registry.register("two", "1", input_model=PlannerInput, output_model=PlannerOutput)
    def make_two():
        """Two steps in a row."""
        return _graph("a", "b")

    assert callable(make_two) and make_two().nodes.keys() == {"a", "b"}
    info = registry.get("two@1").describe()
    assert info == {
        "key": "two@1",
        "name": "two",
        "version": "1",
        "description": "Two steps in a row.",
        "nodes": ["a", "b"],
        "input": "PlannerInput",
        "output": "PlannerOutput",
        "uses_tools": False,
    }


def test_unknown_key_lists_what_is_registered() -> None:
    with pytest.raises(GraphNotFoundError) as info:
        default_registry.get("reseacher@1")
    message = str(info.value)
    for key in ("planner@1", "researcher@1", "researcher-lite@1", "validator@1", "writer@1"):
        assert key in message
    with pytest.raises(GraphNotFoundError):
        default_registry.get("researcher@99")
    with pytest.raises(GraphNotFoundError):
        GraphRegistry().get("anything")


def test_builtins_have_the_promised_shapes() -> None:
    assert len(default_registry.get("researcher@1").nodes()) >= 4
    assert default_registry.get("researcher-lite@1").nodes() == ["retrieve", "answer"]
    assert {s.key for s in default_registry.list()} >= {
        "planner@1",
        "researcher@1",
        "researcher-lite@1",
        "validator@1",
        "writer@1",
    }
