"""A user graph registered with @register_graph (as in a notebook cell) runs like a built-in."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from pydantic import BaseModel
from typing_extensions import TypedDict

from reasoning import GraphContext, default_registry, register_graph, run_graph


class CountIn(BaseModel):
    question: str


class CountOut(BaseModel):
    sources: list[str]


class _State(TypedDict, total=False):
    question: str
    sources: list[str]


def _look(state: _State, runtime: Runtime[GraphContext]) -> dict[str, Any]:
    k = runtime.context.params.get("k", 2)
    hits = runtime.context.retriever.retrieve(state["question"], k)
    return {"sources": [h.source for h in hits]}


@pytest.fixture
def user_graph() -> Iterator[str]:
    @register_graph("source-lister", "1", input_model=CountIn, output_model=CountOut)
    def make_source_lister() -> StateGraph:
        graph = StateGraph(_State, context_schema=GraphContext)
        graph.add_node("look", _look)
        graph.add_edge(START, "look")
        graph.add_edge("look", END)
        return graph

    yield "source-lister@1"
    default_registry.unregister("source-lister@1")


def test_registered_user_graph_runs_with_the_runtime_context(user_graph: str, fake_ctx: GraphContext) -> None:
    fake_ctx.params["k"] = 1
    result = run_graph(
        default_registry.get("source-lister"), CountIn(question="sourdough bread starter"), context=fake_ctx
    )
    assert result.output == {"sources": ["baking.md"]}
    assert result.nodes_run == ["look"] and result.model_calls == 0
