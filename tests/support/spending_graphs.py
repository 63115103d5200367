"""Test-only graphs: spendthrift@1 asks the model, then fails, on every attempt (a subtask that spends
and fails); claimless@1 answers without a cited claim (a finding the validator sends back)."""

from __future__ import annotations

from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from reasoning import Finding, ResearchInput, default_registry
from reasoning.context import GraphContext
from reasoning.graphs._common import ask_model
from reasoning.graphs.researcher import ResearchState, retrieve_node

SPEND_NODE = "spend"
"""The node that pays for one model call and then raises (the fake's call log names it)."""


def _spend_then_fail(state: ResearchState, runtime: Runtime[GraphContext]) -> dict[str, Any]:
    ask_model(runtime, "answer", {"question": state["question"], "evidence": [], "feedback": ""})
    raise RuntimeError("injected failure after a paid model call")  # retryable: every attempt pays again


@default_registry.register("spendthrift", "1", input_model=ResearchInput, output_model=Finding)
def make_spendthrift() -> StateGraph[Any, Any, Any, Any]:
    """Retrieve, ask the model, then fail (test only)."""
    graph = StateGraph(ResearchState, context_schema=GraphContext)
    graph.add_node("retrieve", retrieve_node)
    graph.add_node(SPEND_NODE, _spend_then_fail)
    graph.add_edge(START, "retrieve")
    graph.add_edge("retrieve", SPEND_NODE)
    graph.add_edge(SPEND_NODE, END)
    return graph


def _answer_without_claims(state: ResearchState) -> dict[str, Any]:
    return {"answer": f"No claim to cite for: {state['question']}", "claims": [], "citations": [], "provider": "test"}


@default_registry.register("claimless", "1", input_model=ResearchInput, output_model=Finding)
def make_claimless() -> StateGraph[Any, Any, Any, Any]:
    """Retrieve, then answer with no cited claim, which the validator calls unsupported (test only)."""
    graph = StateGraph(ResearchState, context_schema=GraphContext)
    graph.add_node("retrieve", retrieve_node)
    graph.add_node("answer", _answer_without_claims)
    graph.add_edge(START, "retrieve")
    graph.add_edge("retrieve", "answer")
    graph.add_edge("answer", END)
    return graph
