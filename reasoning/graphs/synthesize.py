"""synthesize@1 (a reduce step): a bounded group of analyses -> one analysis of the same shape."""

from __future__ import annotations

from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from reasoning.context import GraphContext
from reasoning.graphs._common import ask_model, provider
from reasoning.graphs._documents import flat
from reasoning.registry import register_graph
from reasoning.types import DocumentAnalysis, SynthesisInput


class SynthesisState(TypedDict, total=False):
    question: str
    parts: list[dict[str, Any]]
    notes: str
    raw: dict[str, Any]
    source: str
    summary: str
    claims: list[dict[str, Any]]
    documents: int
    provider: str


def _synthesize(state: SynthesisState, runtime: Runtime[GraphContext]) -> dict[str, Any]:
    parts = [DocumentAnalysis.model_validate(p).model_dump(include={"source", "summary", "claims"})
             for p in state.get("parts") or []]  # fmt: skip
    payload: dict[str, Any] = {"question": state.get("question", ""), "parts": parts}
    if state.get("notes"):  # only when revising: the request of every other step stays as it was
        payload["notes"] = state["notes"]
    reply = ask_model(runtime, "synthesize", payload)
    return {"raw": reply, "provider": provider(runtime)}


def _check(state: SynthesisState) -> dict[str, Any]:
    # A kept claim must be one the parts made, with the same quote and source: a reduce
    # step may select and combine, never invent evidence.
    parts = [DocumentAnalysis.model_validate(p) for p in state.get("parts") or []]
    known = {(flat(c.quote), c.source) for p in parts for c in p.claims}
    claims: dict[str, dict[str, str]] = {}
    for c in state.get("raw", {}).get("claims") or []:
        if isinstance(c, dict) and (flat(c.get("quote", "")), str(c.get("source", ""))) in known:
            claims.setdefault(flat(c["quote"]), {"text": flat(c.get("text", "")) or flat(c["quote"]),
                                                 "quote": flat(c["quote"]), "source": str(c["source"])})  # fmt: skip
    documents = sum(p.documents for p in parts)
    return {
        "source": f"synthesis of {documents} document(s)",
        "summary": flat(state.get("raw", {}).get("summary", "")) or "Nothing to synthesize.",
        "claims": list(claims.values()),
        "documents": documents,
    }


@register_graph(
    "synthesize",
    "1",
    input_model=SynthesisInput,
    output_model=DocumentAnalysis,
    description="Reduce: a group of analyses -> one analysis (claims kept only with their quotes).",
)
def make_synthesize_graph() -> StateGraph[Any, GraphContext, Any, Any]:
    """Reduce: a group of analyses -> one analysis (claims kept only with their quotes)."""
    graph = StateGraph(SynthesisState, context_schema=GraphContext)
    graph.add_node("synthesize", _synthesize)
    graph.add_node("check", _check)
    graph.add_edge(START, "synthesize")
    graph.add_edge("synthesize", "check")
    graph.add_edge("check", END)
    return graph
