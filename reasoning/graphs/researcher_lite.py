"""researcher-lite@1: retrieve -> answer in one model call; a visibly different researcher."""

from __future__ import annotations

from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from reasoning.context import GraphContext
from reasoning.graphs._common import (
    ask_model,
    citations_for,
    clean_claims,
    evidence_for_model,
    provider,
)
from reasoning.graphs.researcher import ResearchState, retrieve_node
from reasoning.registry import register_graph
from reasoning.types import Finding, ResearchInput


def _answer(state: ResearchState, runtime: Runtime[GraphContext]) -> dict[str, Any]:
    payload = {
        "question": state["question"],
        "evidence": evidence_for_model(state["evidence"]),
        "feedback": state.get("notes") or "",
    }
    reply = ask_model(runtime, "answer", payload)
    known = {e["chunk_id"] for e in state["evidence"]}
    claims = [c for c in clean_claims(reply.get("claims"), known) if c["citations"]]
    return {
        "answer": str(reply.get("answer", "")).strip(),
        "claims": claims,
        "citations": citations_for(claims, state["evidence"], []),
        "provider": provider(runtime),
    }


@register_graph(
    "researcher-lite",
    "1",
    input_model=ResearchInput,
    output_model=Finding,
    description="Retrieve, then answer with citations in one model call.",
)
def make_researcher_lite_graph() -> StateGraph[Any, GraphContext, Any, Any]:
    """Retrieve, then answer with citations in one model call."""
    graph = StateGraph(ResearchState, context_schema=GraphContext)
    graph.add_node("retrieve", retrieve_node)
    graph.add_node("answer", _answer)
    graph.add_edge(START, "retrieve")
    graph.add_edge("retrieve", "answer")
    graph.add_edge("answer", END)
    return graph
