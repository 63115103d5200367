"""Test-only batch graphs: one that fails on marked documents while a switch is on, one that misfits, a
reduce graph that always fails."""

from __future__ import annotations

from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph
from pydantic import BaseModel

from reasoning import DocumentAnalysis, DocumentInput, default_registry
from reasoning.errors import ConfigError
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
