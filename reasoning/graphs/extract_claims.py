"""extract-claims@1: one document -> its main claims, each with a verbatim quote and its source."""

from __future__ import annotations

from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from reasoning.context import GraphContext
from reasoning.graphs._common import ask_model, provider
from reasoning.graphs._documents import verified_claims
from reasoning.registry import register_graph
from reasoning.types import DocumentAnalysis, DocumentInput


class ClaimsState(TypedDict, total=False):
    source: str
    title: str
    text: str
    question: str
    raw: list[dict[str, Any]]
    summary: str
    claims: list[dict[str, Any]]
    dropped: int
    documents: int
    provider: str


def _extract(state: ClaimsState, runtime: Runtime[GraphContext]) -> dict[str, Any]:
    payload = {"question": state.get("question", ""), "source": state["source"], "text": state["text"]}
    reply = ask_model(runtime, "extract_claims", payload)
    raw = [c for c in reply.get("claims") or [] if isinstance(c, dict)]
    return {"raw": raw, "provider": provider(runtime)}


def _verify(state: ClaimsState) -> dict[str, Any]:
    # A claim whose quote is not verbatim in the document is unsupported: dropped and counted.
    claims = verified_claims(state.get("raw"), state["text"], state["source"])
    head = state.get("title") or state["source"]
    summary = f"{head}: {len(claims)} claim(s). " + " ".join(c["text"] for c in claims[:2])
    return {"claims": claims, "dropped": len(state.get("raw") or []) - len(claims), "summary": summary.strip(),
            "documents": 1}  # fmt: skip


@register_graph(
    "extract-claims",
    "1",
    input_model=DocumentInput,
    output_model=DocumentAnalysis,
    description="One document -> claims with verbatim quoted evidence and their source.",
)
def make_extract_claims_graph() -> StateGraph[Any, GraphContext, Any, Any]:
    """One document -> claims with verbatim quoted evidence and their source."""
    graph = StateGraph(ClaimsState, context_schema=GraphContext)
    graph.add_node("extract", _extract)
    graph.add_node("verify", _verify)
    graph.add_edge(START, "extract")
    graph.add_edge("extract", "verify")
    graph.add_edge("verify", END)
    return graph
