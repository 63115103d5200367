"""researcher@1: retrieve -> read -> draft -> self-check, looping back to draft (bounded)."""

from __future__ import annotations

from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from reasoning.context import GraphContext
from reasoning.graphs._common import (
    ask_model,
    citations_for,
    clean_claims,
    evidence_for_model,
    param,
    provider,
    retrieve,
)
from reasoning.registry import register_graph
from reasoning.types import Finding, ResearchInput


class ResearchState(TypedDict, total=False):
    subtask: dict[str, Any]
    notes: str
    subtask_id: str
    question: str
    evidence: list[dict[str, Any]]
    quotes: list[dict[str, Any]]
    answer: str
    claims: list[dict[str, Any]]
    round: int
    ok: bool
    feedback: str
    citations: list[dict[str, Any]]
    provider: str


def retrieve_node(state: ResearchState, runtime: Runtime[GraphContext]) -> dict[str, Any]:
    subtask = state["subtask"]
    return {
        "subtask_id": subtask["id"],
        "question": subtask["question"],
        "evidence": retrieve(runtime, subtask["question"]),
        "round": 0,
    }


def _read(state: ResearchState, runtime: Runtime[GraphContext]) -> dict[str, Any]:
    payload = {"question": state["question"], "evidence": evidence_for_model(state["evidence"])}
    reply = ask_model(runtime, "read", payload)
    known = {e["chunk_id"] for e in state["evidence"]}
    quotes = [
        {"chunk_id": str(q["chunk_id"]), "quote": str(q.get("quote", ""))}
        for q in reply.get("notes") or []
        if isinstance(q, dict) and str(q.get("chunk_id")) in known
    ]
    return {"quotes": quotes}


def _draft(state: ResearchState, runtime: Runtime[GraphContext]) -> dict[str, Any]:
    feedback = state.get("feedback") or state.get("notes") or ""
    payload = {"question": state["question"], "notes": state.get("quotes") or [], "feedback": feedback}
    reply = ask_model(runtime, "draft", payload)
    known = {e["chunk_id"] for e in state["evidence"]}
    return {
        "answer": str(reply.get("answer", "")).strip(),
        "claims": clean_claims(reply.get("claims"), known),
        "round": state.get("round", 0) + 1,
    }


def _check(state: ResearchState, runtime: Runtime[GraphContext]) -> dict[str, Any]:
    # A structural failure needs no model call: say exactly what is wrong.
    if not state.get("answer") or not state.get("claims"):
        return {"ok": False, "feedback": "The draft has no answer or no cited claim."}
    uncited = [c["text"][:60] for c in state["claims"] if not c["citations"]]
    if uncited:
        return {"ok": False, "feedback": f"These claims cite no evidence: {uncited}"}
    payload = {
        "question": state["question"],
        "answer": state["answer"],
        "claims": state["claims"],
        "notes": state.get("quotes") or [],
        "round": state.get("round", 1),
    }
    reply = ask_model(runtime, "check", payload)
    return {"ok": bool(reply.get("ok")), "feedback": str(reply.get("feedback", ""))}


def _after_check(state: ResearchState, runtime: Runtime[GraphContext]) -> str:
    max_rounds = int(param(runtime, "max_rounds", 2))
    return "finalize" if state.get("ok") or state.get("round", 0) >= max_rounds else "draft"


def finalize_node(state: ResearchState, runtime: Runtime[GraphContext]) -> dict[str, Any]:
    claims = [c for c in state.get("claims") or [] if c["citations"]]
    return {
        "claims": claims,
        "citations": citations_for(claims, state["evidence"], state.get("quotes") or []),
        "provider": provider(runtime),
    }


@register_graph(
    "researcher",
    "1",
    input_model=ResearchInput,
    output_model=Finding,
    description="Retrieve, read, draft with citations, self-check (bounded loop).",
)
def make_researcher_graph() -> StateGraph[Any, GraphContext, Any, Any]:
    """Retrieve, read, draft with citations, self-check (bounded loop)."""
    graph = StateGraph(ResearchState, context_schema=GraphContext)
    graph.add_node("retrieve", retrieve_node)
    graph.add_node("read", _read)
    graph.add_node("draft", _draft)
    graph.add_node("check", _check)
    graph.add_node("finalize", finalize_node)
    graph.add_edge(START, "retrieve")
    graph.add_edge("retrieve", "read")
    graph.add_edge("read", "draft")
    graph.add_edge("draft", "check")
    graph.add_conditional_edges("check", _after_check, ["draft", "finalize"])
    graph.add_edge("finalize", END)
    return graph
