"""Test-only graph call-probe@1: a node of three sequential model calls, then a fan-out of three
parallel branches of two calls each, then one combining call (10 calls, every request distinct).

Each call asks the fake model a distinct question, so the fake's call log names every call by
its content hash: a hash seen twice is a call paid twice. Registered in `default_registry` on
import; workers load it with ``--graphs tests.reasoning.call_log.probe_graph:GRAPHS``.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from langchain_core.messages import HumanMessage
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Send

from reasoning import Finding, GraphContext, ResearchInput, default_registry
from reasoning.graphs._common import context_of

GRAPH = "call-probe@1"
GATHER_CALLS, BRANCHES, BRANCH_CALLS = 3, 3, 2
CALLS = GATHER_CALLS + BRANCHES * BRANCH_CALLS + 1


class ProbeState(TypedDict, total=False):
    subtask: dict[str, Any]
    notes: str
    gathered: list[str]
    lens: int
    findings: Annotated[list[str], operator.add]
    answer: str
    subtask_id: str
    question: str
    claims: list[dict[str, Any]]
    citations: list[dict[str, Any]]


def _ask(runtime: Runtime[GraphContext], text: str) -> str:
    reply = context_of(runtime).model.invoke([HumanMessage(content=text)])
    return str(reply.content)


def _gather(state: ProbeState, runtime: Runtime[GraphContext]) -> dict[str, Any]:
    question = state["subtask"]["question"]
    return {"gathered": [_ask(runtime, f"gather {i} for: {question}") for i in range(GATHER_CALLS)]}


def _fan_out(state: ProbeState) -> list[Send]:
    return [
        Send("branch", {"subtask": state["subtask"], "gathered": state["gathered"], "lens": j}) for j in range(BRANCHES)
    ]


def _branch(state: ProbeState, runtime: Runtime[GraphContext]) -> dict[str, Any]:
    seen = " ".join(state["gathered"])
    notes = [_ask(runtime, f"branch {state['lens']} step {k} over: {seen}") for k in range(BRANCH_CALLS)]
    return {"findings": [f"{state['lens']}: {' / '.join(notes)}"]}


def _combine(state: ProbeState, runtime: Runtime[GraphContext]) -> dict[str, Any]:
    return {"answer": _ask(runtime, "combine: " + " | ".join(sorted(state["findings"])))}


def _finding(state: ProbeState) -> dict[str, Any]:
    subtask = state["subtask"]
    return {"subtask_id": subtask["id"], "question": subtask["question"], "claims": [], "citations": []}


@default_registry.register("call-probe", "1", input_model=ResearchInput, output_model=Finding)
def make_call_probe() -> StateGraph[Any, Any, Any, Any]:
    """Three calls in one node, three parallel branches of two calls, one combining call (test only)."""
    graph = StateGraph(ProbeState, context_schema=GraphContext)
    graph.add_node("gather", _gather)
    graph.add_node("branch", _branch)
    graph.add_node("combine", _combine)
    graph.add_node("finding", _finding)
    graph.add_edge(START, "gather")
    graph.add_conditional_edges("gather", _fan_out, ["branch"])
    graph.add_edge("branch", "combine")
    graph.add_edge("combine", "finding")
    graph.add_edge("finding", END)
    return graph


GRAPHS = [make_call_probe]
