"""writer@1: findings -> a Markdown report with inline [n] citations and a references list."""

from __future__ import annotations

from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from reasoning.context import GraphContext
from reasoning.graphs._common import ask_model
from reasoning.registry import register_graph
from reasoning.types import Finding, WriterInput, WriterOutput


class WriterState(TypedDict, total=False):
    question: str
    findings: list[dict[str, Any]]
    notes: str
    sections: list[dict[str, Any]]
    references: list[dict[str, Any]]
    title: str
    summary: str
    body: list[dict[str, Any]]
    markdown: str


def _number(state: WriterState) -> dict[str, Any]:
    # Numbers are assigned here, not by the model, so every [n] maps to a real source.
    numbers: dict[str, int] = {}
    references: list[dict[str, Any]] = []
    sections = []
    for raw in state.get("findings") or []:
        finding = Finding.model_validate(raw)
        by_id = {c.chunk_id: c for c in finding.citations}
        claims = []
        for claim in finding.claims:
            refs = []
            for cid in claim.citations:
                if cid not in by_id:
                    continue
                if cid not in numbers:
                    numbers[cid] = len(numbers) + 1
                    references.append(by_id[cid].model_dump())
                refs.append(numbers[cid])
            claims.append({"text": claim.text, "refs": refs})
        sections.append({"question": finding.question, "answer": finding.answer, "claims": claims})
    return {"sections": sections, "references": references}


def _compose(state: WriterState, runtime: Runtime[GraphContext]) -> dict[str, Any]:
    payload = {
        "question": state["question"],
        "notes": state.get("notes") or "",
        "sections": state.get("sections") or [],
    }
    reply = ask_model(runtime, "write", payload)
    body = [s for s in reply.get("sections") or [] if isinstance(s, dict)]
    return {
        "title": str(reply.get("title") or f"Report: {state['question']}").strip(),
        "summary": str(reply.get("summary") or "").strip(),
        "body": body,
    }


def _render(state: WriterState) -> dict[str, Any]:
    lines = [f"# {state['title']}", ""]
    if state.get("summary"):
        lines += [state["summary"], ""]
    for section in state.get("body") or []:
        lines += [f"## {section.get('heading', '').strip()}", "", str(section.get("body", "")), ""]
    lines += ["## References", ""]
    for n, ref in enumerate(state.get("references") or [], start=1):
        quote = " ".join(ref.get("quote", "").split())
        lines.append(
            f"{n}. [{n}] `{ref['source']}` (chunk {ref['chunk_id']})" + (f': "{quote[:160]}"' if quote else "")
        )
    if not state.get("references"):
        lines.append("No sources were cited.")
    return {"markdown": "\n".join(lines).rstrip() + "\n"}


@register_graph(
    "writer",
    "1",
    input_model=WriterInput,
    output_model=WriterOutput,
    description="Findings -> Markdown report with inline citations and references.",
)
def make_writer_graph() -> StateGraph[Any, GraphContext, Any, Any]:
    """Findings -> Markdown report with inline citations and references."""
    graph = StateGraph(WriterState, context_schema=GraphContext)
    graph.add_node("number", _number)
    graph.add_node("compose", _compose)
    graph.add_node("render", _render)
    graph.add_edge(START, "number")
    graph.add_edge("number", "compose")
    graph.add_edge("compose", "render")
    graph.add_edge("render", END)
    return graph
