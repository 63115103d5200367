"""deep-researcher@1: the model chooses tools in a loop (search, read, fetch), reflects, answers with citations.

agent (the model with the run's tools bound) -> tools (LangGraph's `ToolNode`, every call through
the call log) -> agent ... until the model answers without calling a tool or its bounds are
reached (tool calls, failed tool calls, rounds; tokens and wall time are the runner's budgets);
then reflect (the "check" task: does the answer hold up? if not, and rounds remain, the feedback
goes back to the agent) and finalize into a `Finding` citing only passages a tool returned,
exactly as researcher@1's, so validation, writing and publishing need nothing new.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, TypedDict

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, ToolMessage
from langgraph.config import get_config
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.prebuilt import ToolNode
from langgraph.runtime import Runtime

from reasoning.call_log.tool_calls import alogged_tool_call, logged_tool_call
from reasoning.context import GraphContext
from reasoning.errors import ModelOutputError, ReasoningError, map_provider_error
from reasoning.graphs._common import ask_model, citations_for, clean_claims, context_of, param, provider
from reasoning.models.tasks import parse_reply, task_messages
from reasoning.registry import register_graph
from reasoning.types import Finding, ResearchInput


def _merge_evidence(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Evidence in the order tools returned it, each passage once (searches overlap)."""
    merged = {e["chunk_id"]: e for e in old}
    for e in new:
        merged.setdefault(e["chunk_id"], e)
    return list(merged.values())


class DeepState(TypedDict, total=False):
    subtask: dict[str, Any]
    notes: str
    subtask_id: str
    question: str
    messages: Annotated[list[AnyMessage], add_messages]
    evidence: Annotated[list[dict[str, Any]], _merge_evidence]
    tool_calls: int
    tool_errors: int
    round: int
    answer: str
    claims: list[dict[str, Any]]
    ok: bool
    feedback: str
    citations: list[dict[str, Any]]
    provider: str


def _start(state: DeepState, runtime: Runtime[GraphContext]) -> dict[str, Any]:
    subtask, ctx = state["subtask"], context_of(runtime)
    request = {
        "question": subtask["question"], "notes": state.get("notes") or "",
        "tools": [t.name for t in ctx.tools], "max_tool_calls": ctx.max_tool_calls,
    }  # fmt: skip
    return {
        "subtask_id": subtask["id"], "question": subtask["question"], "messages": task_messages("agent", request),
        "evidence": [], "tool_calls": 0, "tool_errors": 0, "round": 0,
    }  # fmt: skip


def _may_call_tools(state: DeepState, ctx: GraphContext) -> bool:
    return (
        bool(ctx.tools)
        and state.get("tool_calls", 0) < ctx.max_tool_calls
        and (state.get("tool_errors", 0) <= ctx.max_tool_errors)
    )


def _agent(state: DeepState, runtime: Runtime[GraphContext]) -> dict[str, Any]:
    ctx = context_of(runtime)
    messages = list(state["messages"])
    if _may_call_tools(state, ctx):
        model: Any = ctx.model.bind_tools(ctx.tools)
    else:  # bounds reached: answer with what the tools returned
        model = ctx.model
        if isinstance(messages[-1], ToolMessage):
            messages.append(HumanMessage(content=json.dumps({"instruction": "Stop calling tools and answer now."})))
    try:
        reply = model.invoke(messages)
    except ReasoningError:
        raise
    except Exception as exc:
        raise map_provider_error(exc) from exc
    calls = len(getattr(reply, "tool_calls", None) or [])
    if calls and not _may_call_tools(state, ctx):
        reply = AIMessage(content=reply.content or "")  # calls it may not make: dropped, not run
    return {"messages": [*messages[len(state["messages"]) :], reply]}


def _after_agent(state: DeepState) -> str:
    last = state["messages"][-1]
    return "tools" if isinstance(last, AIMessage) and last.tool_calls else "reflect"


def _tools(state: DeepState, runtime: Runtime[GraphContext]) -> dict[str, Any]:
    ctx = context_of(runtime)
    node = ToolNode(
        ctx.tools, handle_tool_errors=_tool_error,
        wrap_tool_call=logged_tool_call(ctx.lifted), awrap_tool_call=alogged_tool_call(ctx.lifted),
    )  # fmt: skip
    out = node.invoke({"messages": state["messages"]}, get_config())  # this node's config: its runtime, callbacks
    results = [m for m in out["messages"] if isinstance(m, ToolMessage)]
    evidence = [e for m in results if m.status != "error" for e in (m.artifact or []) if isinstance(e, dict)]
    return {
        "messages": results,
        "evidence": evidence,
        "tool_calls": state.get("tool_calls", 0) + len(results),
        "tool_errors": state.get("tool_errors", 0) + sum(m.status == "error" for m in results),
    }


def _tool_error(error: Exception) -> str:
    """A failed tool call as the model reads it (it may try another way); the run's own stops pass.

    A superseded attempt, a spent budget or a locked checkpoint store is not the tool's failure:
    it ends the run as it would anywhere else.
    """
    if isinstance(error, ReasoningError):
        raise error
    return (
        f"The tool failed ({type(error).__name__}: {str(error)[:300]}). Try another tool or answer with what you have."
    )


def _reflect(state: DeepState, runtime: Runtime[GraphContext]) -> dict[str, Any]:
    known = {e["chunk_id"] for e in state.get("evidence") or []}
    try:
        reply = parse_reply(str(state["messages"][-1].content))
    except ModelOutputError as exc:
        reply = {"answer": "", "claims": [], "problem": str(exc)}
    claims = clean_claims(reply.get("claims"), known)
    round_ = state.get("round", 0) + 1
    draft = {"answer": str(reply.get("answer", "")).strip(), "claims": claims, "round": round_}
    if not draft["answer"] or not any(c["citations"] for c in claims):
        return draft | {"ok": False, "feedback": "Answer with claims that cite chunk_ids the tools returned."}
    notes = [{"chunk_id": e["chunk_id"], "quote": e["text"][:300]} for e in state.get("evidence") or []][:8]
    check = ask_model(runtime, "check", {"question": state["question"], **draft, "notes": notes})
    return draft | {"ok": bool(check.get("ok")), "feedback": str(check.get("feedback", ""))}


def _after_reflect(state: DeepState, runtime: Runtime[GraphContext]) -> str:
    if state.get("ok") or state.get("round", 0) >= int(param(runtime, "max_rounds", 2)):
        return "finalize"
    return "revise"


def _revise(state: DeepState) -> dict[str, Any]:
    feedback = {"feedback": state.get("feedback") or "", "instruction": "Fill what is missing, then answer again."}
    return {"messages": [HumanMessage(content=json.dumps(feedback))]}


def _finalize(state: DeepState, runtime: Runtime[GraphContext]) -> dict[str, Any]:
    evidence = state.get("evidence") or []
    claims = [c for c in state.get("claims") or [] if c["citations"]]
    return {
        "claims": claims,
        "citations": citations_for(claims, evidence, []),
        "answer": state.get("answer") or "No answer: the tools found nothing to cite.",
        "provider": provider(runtime),
    }


@register_graph(
    "deep-researcher",
    "1",
    input_model=ResearchInput,
    output_model=Finding,
    description="The model chooses tools in a loop (search, read, fetch), reflects, answers with citations.",
    uses_tools=True,
)
def make_deep_researcher_graph() -> StateGraph[Any, GraphContext, Any, Any]:
    """The model chooses tools in a loop (search, read, fetch), reflects, answers with citations."""
    graph = StateGraph(DeepState, context_schema=GraphContext)
    graph.add_node("start", _start)
    graph.add_node("agent", _agent)
    graph.add_node("tools", _tools)
    graph.add_node("reflect", _reflect)
    graph.add_node("revise", _revise)
    graph.add_node("finalize", _finalize)
    graph.add_edge(START, "start")
    graph.add_edge("start", "agent")
    graph.add_conditional_edges("agent", _after_agent, ["tools", "reflect"])
    graph.add_edge("tools", "agent")
    graph.add_conditional_edges("reflect", _after_reflect, ["revise", "finalize"])
    graph.add_edge("revise", "agent")
    graph.add_edge("finalize", END)
    return graph
