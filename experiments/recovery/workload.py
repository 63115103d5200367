"""The workload graph every arm runs: plan, retrieve, parallel analysis, remember,
synthesize, and a critique loop of at most two revisions (9-13 model calls).

Nodes are plain functions of ``(state, runtime)`` so the same graph runs in a process
of its own (A0, A1), inside one Temporal activity (A2, A3) and node by node as
activities under Temporal's LangGraph plugin (A4). Everything a node needs from the
outside (stub address, arm, run, memory folder, controller socket) travels in the
LangGraph run context, which is a plain dict so the plugin can serialise it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import threading
from collections.abc import Callable
from typing import Annotated, Any, TypedDict

from langchain_core.runnables import RunnableLambda
from langgraph.func import task
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Send

from experiments.recovery import memory
from experiments.recovery.probes import probe

ASPECTS = ("durability", "latency", "cost", "operations")
MAX_REVISIONS = 2
QUESTION = "How much work survives a worker crash in a long agent run, and what does it cost?"


class RunContext(TypedDict):
    """Where a run reports and writes; identical across attempts of one run."""

    arm: str
    run: str
    stub_url: str
    events: str
    memory_dir: str
    ledger_path: str
    use_tasks: bool


def _merge(left: dict[str, str] | None, right: dict[str, str] | None) -> dict[str, str]:
    return {**(left or {}), **(right or {})}


class WorkState(TypedDict, total=False):
    """The graph state; `notes` merges the parallel analysts' outputs by aspect."""

    question: str
    plan: str
    query: str
    evidence: list[str]
    notes: Annotated[dict[str, str], _merge]
    memory_notes: int
    repeated_writes: int
    draft: str
    critique: str
    loops: int
    answer: str


_models: dict[tuple[str, str, str], Any] = {}
_models_lock = threading.Lock()


def run_context(runtime: Runtime[Any]) -> RunContext:
    """The run's context, whether given directly or inside ``reasoning.GraphContext.params``.

    The local arms and the plugin pass the plain dict; A2/A3 run through the project's
    ``reasoning.runner``, whose context is a ``GraphContext`` carrying it in ``params``.
    """
    ctx = runtime.context
    params = getattr(ctx, "params", None)
    return params["run"] if isinstance(params, dict) and "run" in params else ctx  # type: ignore[no-any-return]


def _model(ctx: RunContext) -> Any:
    """One ChatOpenAI per (stub, arm, run) per process; retries belong to the arm, not here."""
    from langchain_openai import ChatOpenAI

    key = (ctx["stub_url"], ctx["arm"], ctx["run"])
    with _models_lock:
        if key not in _models:
            _models[key] = ChatOpenAI(
                model="stub",
                base_url=ctx["stub_url"],
                api_key="stub",  # type: ignore[arg-type]
                max_retries=0,
                timeout=60,
                default_headers={
                    "X-Recovery-Arm": ctx["arm"],
                    "X-Recovery-Run": ctx["run"],
                    "X-Recovery-Pid": str(os.getpid()),
                },
            )
        return _models[key]


def stub_model(ctx: RunContext) -> Any:
    """The chat model of this run (what ``reasoning.GraphContext.model`` carries)."""
    return _model(ctx)


class _SearchRetriever:
    """``reasoning.Retriever`` over the run's memory (the graph itself calls memory.search)."""

    def __init__(self, ctx: RunContext) -> None:
        self._ctx = ctx

    def retrieve(self, query: str, k: int = 5) -> list[Any]:
        return memory.search(self._ctx["memory_dir"], query, k)


def search_retriever(ctx: RunContext) -> Any:
    """A retriever for ``reasoning.GraphContext``; kept for the contract, unused by the nodes."""
    return _SearchRetriever(ctx)


def warm_up() -> None:
    """Pay first-use costs before a process says READY, so standbys and workers start equally warm.

    Chroma's first client, the OpenAI client's lazily imported request path (a call to
    a closed loopback port), and LangGraph's SQLite saver each cost 0.1-0.3 s the first
    time in a process; a recovering process must not be charged for them in one arm
    and not in another.
    """
    import socket
    import sqlite3
    import tempfile

    from langchain_openai import ChatOpenAI
    from langgraph.checkpoint.sqlite import SqliteSaver

    memory.warm_up()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    model = ChatOpenAI(model="stub", base_url=f"http://127.0.0.1:{closed_port}/v1", api_key="warm", max_retries=0)  # type: ignore[arg-type]
    with contextlib.suppress(Exception):  # refused on purpose: only the code path warms
        model.invoke("warm up")
    with tempfile.TemporaryDirectory(prefix="recovery-warm-") as folder:
        conn = sqlite3.connect(f"{folder}/warm.sqlite", check_same_thread=False)
        try:
            saver = SqliteSaver(conn)
            saver.setup()
            build_graph().compile(checkpointer=saver).get_state({"configurable": {"thread_id": "w"}})
        finally:
            conn.close()


def _call_model_raw(ctx: RunContext, role: str, text: str) -> str:
    reply = _model(ctx).invoke([("system", f"You are the {role}."), ("human", text)])
    return str(reply.content)


# A1t: the same call wrapped as a LangGraph task, so a finished call survives a crash
# of the node that made it (its result is saved as a write of the running superstep).
_model_task = task(name="model_call")(_call_model_raw)


def call_model(ctx: RunContext, role: str, text: str) -> str:
    """One model call, as a durable @task when the arm asks for it."""
    if ctx.get("use_tasks"):
        return str(_model_task(ctx, role, text).result())
    return _call_model_raw(ctx, role, text)


def _plan(state: WorkState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    ctx = run_context(runtime)
    plan = call_model(ctx, "planner", f"Plan the research for: {state['question']}")
    return {"plan": plan, "loops": 0}


def _retrieve(state: WorkState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    ctx = run_context(runtime)
    query = call_model(ctx, "searcher", f"Write a search query for: {state['question']}")
    memory.seed_corpus(ctx["memory_dir"])
    passages = memory.search(ctx["memory_dir"], f"{state['question']} {query}")
    picked = call_model(ctx, "reader", "Pick the evidence:\n" + "\n".join(passages))
    return {"query": query, "evidence": [*passages, picked]}


def _analyze(arg: dict[str, Any], runtime: Runtime[RunContext]) -> dict[str, Any]:
    text = f"Analyse {arg['aspect']} given:\n" + "\n".join(arg["evidence"])
    return {"notes": {arg["aspect"]: call_model(run_context(runtime), f"{arg['aspect']} analyst", text)}}


def _remember(state: WorkState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    ctx = run_context(runtime)
    repeated = 0
    for i, aspect in enumerate(sorted(state["notes"])):
        note = f"{aspect}: {state['notes'][aspect]}"
        repeated += memory.remember(ctx["memory_dir"], ctx["ledger_path"], ctx["run"], note)
        probe(ctx["events"], "upsert", ctx["run"], index=i, of=len(state["notes"]))
    return {"memory_notes": memory.count_notes(ctx["memory_dir"]), "repeated_writes": repeated}


def _synthesize(state: WorkState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    notes = "\n".join(f"{a}: {state['notes'][a]}" for a in sorted(state["notes"]))
    critique = state.get("critique", "")
    text = f"Answer {state['question']}\nNotes:\n{notes}\nCritique to address: {critique}"
    return {"draft": call_model(run_context(runtime), "writer", text)}


def _critique(state: WorkState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    critique = call_model(run_context(runtime), "critic", f"Critique this answer:\n{state['draft']}")
    loops = state.get("loops", 0)
    revise = loops < MAX_REVISIONS and hashlib.sha256(critique.encode()).digest()[0] % 4 != 0
    if revise:
        return {"critique": critique, "loops": loops + 1}
    return {"critique": critique, "answer": state["draft"]}


def _fan_out(state: WorkState) -> list[Send]:
    return [Send("analyze", {"aspect": a, "evidence": state["evidence"]}) for a in ASPECTS]


def _after_critique(state: WorkState) -> str:
    return END if state.get("answer") else "synthesize"


async def _afan_out(state: WorkState) -> list[Send]:
    return _fan_out(state)


async def _aafter_critique(state: WorkState) -> str:
    return _after_critique(state)


# Routers carry an async twin: under the plugin they run inside the workflow, where
# the sync path (a thread pool executor) is not allowed.
_FAN_OUT = RunnableLambda(_fan_out, afunc=_afan_out, name="fan_out")
_AFTER_CRITIQUE = RunnableLambda(_after_critique, afunc=_aafter_critique, name="after_critique")


def _started(runtime: Runtime[RunContext]) -> None:
    """Under Temporal, a retried attempt is how the crash was noticed: tell the controller."""
    activity = sys.modules.get("temporalio.activity")  # never imported outside a worker
    if activity is not None and activity.in_activity() and activity.info().attempt > 1:
        ctx = run_context(runtime)
        probe(ctx["events"], "attempt_start", ctx["run"], attempt=activity.info().attempt)


def _returned(name: str, runtime: Runtime[RunContext], update: dict[str, Any]) -> dict[str, Any]:
    """Report the node's return to the controller (which may kill us right there)."""
    ctx = run_context(runtime)
    probe(ctx["events"], "node_end", ctx["run"], node=name)
    return update


# Module-level nodes (the LangGraph plugin names its activities after them).
def plan_node(state: WorkState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    _started(runtime)
    return _returned("plan", runtime, _plan(state, runtime))


def retrieve_node(state: WorkState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    _started(runtime)
    return _returned("retrieve", runtime, _retrieve(state, runtime))


def analyze_node(arg: dict[str, Any], runtime: Runtime[RunContext]) -> dict[str, Any]:
    _started(runtime)
    return _returned("analyze", runtime, _analyze(arg, runtime))


def remember_node(state: WorkState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    _started(runtime)
    return _returned("remember", runtime, _remember(state, runtime))


def synthesize_node(state: WorkState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    _started(runtime)
    return _returned("synthesize", runtime, _synthesize(state, runtime))


def critique_node(state: WorkState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    _started(runtime)
    return _returned("critique", runtime, _critique(state, runtime))


NODES: dict[str, Callable[..., dict[str, Any]]] = {
    "plan": plan_node,
    "retrieve": retrieve_node,
    "analyze": analyze_node,
    "remember": remember_node,
    "synthesize": synthesize_node,
    "critique": critique_node,
}


def build_graph(node_metadata: dict[str, Any] | None = None) -> StateGraph:
    """A fresh, uncompiled workload graph (the LangGraph plugin mutates the one it gets).

    Args:
        node_metadata: metadata for every node (the plugin reads activity options here).
    """
    graph = StateGraph(WorkState, context_schema=RunContext)
    for name, fn in NODES.items():
        graph.add_node(name, fn, metadata=dict(node_metadata or {}))
    graph.add_edge(START, "plan")
    graph.add_edge("plan", "retrieve")
    graph.add_conditional_edges("retrieve", _FAN_OUT, ["analyze"])
    graph.add_edge("analyze", "remember")
    graph.add_edge("remember", "synthesize")
    graph.add_edge("synthesize", "critique")
    graph.add_conditional_edges("critique", _AFTER_CRITIQUE, ["synthesize", END])
    return graph


def graph_input() -> dict[str, Any]:
    """The input of every run."""
    return {"question": QUESTION}


def answer_hash(answer: str) -> str:
    """What "identical to the clean run" compares."""
    return hashlib.sha256(answer.encode()).hexdigest()
