"""summarize@1: one document -> a short summary quoted from it, each sentence checked against the text."""

from __future__ import annotations

from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from reasoning.context import GraphContext
from reasoning.graphs._common import ask_model, provider
from reasoning.graphs._documents import flat, is_quoted
from reasoning.registry import register_graph
from reasoning.types import DocumentAnalysis, DocumentInput


class SummaryState(TypedDict, total=False):
    source: str
    title: str
    text: str
    question: str
    draft: str
    sentences: list[str]
    summary: str
    claims: list[dict[str, Any]]
    documents: int
    provider: str


def _summarize(state: SummaryState, runtime: Runtime[GraphContext]) -> dict[str, Any]:
    payload = {"question": state.get("question", ""), "source": state["source"], "text": state["text"]}
    reply = ask_model(runtime, "summarize", payload)
    sentences = [flat(s) for s in reply.get("sentences") or [] if isinstance(s, str)]
    return {"draft": flat(reply.get("summary", "")), "sentences": sentences, "provider": provider(runtime)}


def _cite(state: SummaryState) -> dict[str, Any]:
    # Every sentence the summary rests on must be in the document: the rest is dropped, not trusted.
    quoted = [s for s in state.get("sentences") or [] if is_quoted(s, state["text"])]
    claims = [{"text": s, "quote": s, "source": state["source"]} for s in quoted]
    summary = state.get("draft") or " ".join(quoted) or "The document has no quotable prose."
    return {"summary": summary, "claims": claims, "documents": 1}


@register_graph(
    "summarize",
    "1",
    input_model=DocumentInput,
    output_model=DocumentAnalysis,
    description="One document -> a summary of sentences quoted from it (checked verbatim).",
)
def make_summarize_graph() -> StateGraph[Any, GraphContext, Any, Any]:
    """One document -> a summary of sentences quoted from it (checked verbatim)."""
    graph = StateGraph(SummaryState, context_schema=GraphContext)
    graph.add_node("summarize", _summarize)
    graph.add_node("cite", _cite)
    graph.add_edge(START, "summarize")
    graph.add_edge("summarize", "cite")
    graph.add_edge("cite", END)
    return graph
