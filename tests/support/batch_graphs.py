"""Test-only batch graphs: one that fails on marked documents while a switch is on, one that misfits, a
reduce graph that always fails."""

from __future__ import annotations

from typing import Any, TypedDict

from langchain_core.messages import HumanMessage
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from pydantic import BaseModel

from reasoning import DocumentAnalysis, DocumentInput, GraphContext, default_registry
from reasoning.errors import ConfigError
from reasoning.graphs._common import context_of
from reasoning.types import SynthesisInput

BROKEN = {"on": True}
"""While on, flaky-summary@1 raises on documents containing FAIL-ME (the fix: turn it off)."""


RUNS: dict[str, int] = {}
"""Graph runs per document source (the workers run in the test's process)."""


class _State(TypedDict, total=False):
    source: str
    title: str
    text: str
    question: str
    summary: str
    claims: list[dict[str, Any]]


def _node(state: _State) -> dict[str, Any]:
    RUNS[state["source"]] = RUNS.get(state["source"], 0) + 1
    if BROKEN["on"] and "FAIL-ME" in state["text"]:
        raise RuntimeError("injected failure for a marked document")
    first = " ".join(state["text"].split("\n\n", 1)[-1].split())[:120]
    return {"summary": f"flaky-summary: {first}", "claims": []}


@default_registry.register("flaky-summary", "1", input_model=DocumentInput, output_model=DocumentAnalysis)
def make_flaky_summary() -> StateGraph[Any, Any, Any, Any]:
    """Summarize, failing on marked documents while BROKEN is on."""
    return _one_node(_State, "summarize", _node)


def _one_node(state: type[Any], name: str, node: Any) -> StateGraph[Any, Any, Any, Any]:
    graph = StateGraph(state)
    graph.add_node(name, node)
    graph.add_edge(START, name)
    graph.add_edge(name, END)
    return graph


class _Other(BaseModel):
    answer: str


@default_registry.register("misfit", "1", input_model=DocumentInput, output_model=_Other)
def make_misfit() -> StateGraph[Any, Any, Any, Any]:
    """Takes a document but returns no analysis: refused as a batch graph."""
    return make_flaky_summary()


class _Parts(TypedDict, total=False):
    question: str
    parts: list[dict[str, Any]]


def _broken_reduce(state: _Parts) -> dict[str, Any]:
    raise ConfigError("injected: this reduce graph cannot reduce anything")


@default_registry.register("broken-reduce", "1", input_model=SynthesisInput, output_model=DocumentAnalysis)
def make_broken_reduce() -> StateGraph[Any, Any, Any, Any]:
    """Fits a reduce step, fails every one (non-retryable): the tree fails at its first step."""
    return _one_node(_Parts, "reduce", _broken_reduce)


SECOND_CALL_FAILS: set[str] = set()
"""Sources whose next second call fails (each once): two-calls@1 removes a source as it fails it."""


def _two_calls(state: _State, runtime: Runtime[GraphContext]) -> dict[str, Any]:
    model = context_of(runtime).model
    first = str(model.invoke([HumanMessage(content=f"summarize: {state['text']}")]).content)
    if state["source"] in SECOND_CALL_FAILS:
        SECOND_CALL_FAILS.discard(state["source"])
        raise RuntimeError("injected failure after the first model call")
    second = str(model.invoke([HumanMessage(content=f"check: {first}")]).content)
    return {"summary": f"{first} / {second}", "claims": []}


@default_registry.register("two-calls", "1", input_model=DocumentInput, output_model=DocumentAnalysis)
def make_two_calls() -> StateGraph[Any, Any, Any, Any]:
    """Two model calls per document; the second fails once for sources in SECOND_CALL_FAILS."""
    graph = StateGraph(_State, context_schema=GraphContext)
    graph.add_node("summarize", _two_calls)
    graph.add_edge(START, "summarize")
    graph.add_edge("summarize", END)
    return graph
