"""planner@1: a question becomes typed subtasks (kind, question)."""

from __future__ import annotations

from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from reasoning.context import GraphContext
from reasoning.graphs._common import ask_model
from reasoning.registry import register_graph
from reasoning.types import PlannerInput, PlannerOutput


class PlannerState(TypedDict, total=False):
    question: str
    max_subtasks: int
    kinds: list[str]
    proposals: list[dict[str, Any]]
    subtasks: list[dict[str, Any]]


def _decompose(state: PlannerState, runtime: Runtime[GraphContext]) -> dict[str, Any]:
    payload = {
        "question": state["question"],
        "max_subtasks": state.get("max_subtasks", 4),
        "kinds": state.get("kinds") or ["research"],
    }
    reply = ask_model(runtime, "plan", payload)
    proposals = reply.get("subtasks")
    return {"proposals": proposals if isinstance(proposals, list) else []}


def _normalize(state: PlannerState) -> dict[str, Any]:
    # Models invent kinds and duplicates; the workflow needs known kinds and a hard cap.
    kinds = state.get("kinds") or ["research"]
    limit = max(1, state.get("max_subtasks", 4))
    seen: set[str] = set()
    subtasks: list[dict[str, Any]] = []
    for item in state.get("proposals") or []:
        question = str(item.get("question", "")).strip() if isinstance(item, dict) else ""
        if not question or question.lower() in seen:
            continue
        seen.add(question.lower())
        kind = item.get("kind") if item.get("kind") in kinds else kinds[0]
        subtasks.append({"id": f"s{len(subtasks) + 1}", "kind": kind, "question": question})
    if not subtasks:  # never hand the workflow an empty plan
        subtasks = [{"id": "s1", "kind": kinds[0], "question": state["question"]}]
    return {"subtasks": subtasks[:limit]}


@register_graph(
    "planner",
    "1",
    input_model=PlannerInput,
    output_model=PlannerOutput,
    description="Question -> typed subtasks (kind, question).",
)
def make_planner_graph() -> StateGraph[Any, GraphContext, Any, Any]:
    """Question -> typed subtasks (kind, question)."""
    graph = StateGraph(PlannerState, context_schema=GraphContext)
    graph.add_node("decompose", _decompose)
    graph.add_node("normalize", _normalize)
    graph.add_edge(START, "decompose")
    graph.add_edge("decompose", "normalize")
    graph.add_edge("normalize", END)
    return graph
