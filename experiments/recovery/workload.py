"""The workload graph every arm runs: plan, retrieve, parallel analysis, remember,
synthesize, and a critique loop of at most two revisions (9-13 model calls).

Nodes are plain functions of ``(state, runtime)`` so the same graph runs in a process
of its own (A0, A1), inside the product's ``reasoning.run_subtask`` activity (A2, A3)
and node by node as activities under Temporal's LangGraph plugin (A4). Everything a
node needs from the outside (stub address, arm, run, memory folder, controller socket)
travels in the LangGraph run context, a plain dict so the plugin can serialise it.
Under the product (A2, A3) the context is the product's ``GraphContext`` instead: the
chat model is the product's (its OpenAI-compatible provider pointed at the stub), the
run is the subtask's id, and the rest comes from the worker's environment
(:func:`subtask_context`).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, TypedDict

from langchain_core.runnables import RunnableLambda
from langgraph.func import task
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Send

from experiments.recovery import memory
from experiments.recovery.probes import probe
from experiments.recovery.stub import prompt_hash

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
    """The graph state; `notes` merges the parallel analysts' outputs by aspect.

    `subtask` is set only under the product (A2, A3): the ``ResearchInput.subtask`` the
    product's activity passes in, whose id is the run and whose question is the question.
    """

    subtask: dict[str, str]
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

# The worker of A2/A3 is configured through its environment, as the product's worker is.
ENV_ARM = "RECOVERY_ARM"
ENV_EVENTS = "RECOVERY_EVENTS"
ENV_RUNS_DIR = "RECOVERY_RUNS_DIR"


def subtask_context(run: str, env: Mapping[str, str] | None = None) -> RunContext:
    """The run context of a run driven through the product's subtask activity.

    The run id is the subtask id; arm, controller socket and the folder of per-run
    folders come from the worker's environment. The model is the product's, so no
    stub URL is needed here.
    """
    env = os.environ if env is None else env
    run_dir = Path(env[ENV_RUNS_DIR]) / run
    return RunContext(
        arm=env[ENV_ARM], run=run, stub_url="", events=env.get(ENV_EVENTS, ""),
        memory_dir=str(run_dir / "memory"), ledger_path=str(run_dir / "ledger.sqlite"), use_tasks=False,
    )  # fmt: skip


def _product_model(runtime: Runtime[Any]) -> Any:
    """The product's chat model when the graph runs under ``reasoning.run_subtask``, else None."""
    ctx = runtime.context
    return None if isinstance(ctx, dict) else ctx.model


def run_context(runtime: Runtime[Any], state: Mapping[str, Any]) -> RunContext:
    """The run's context: the plain dict the local arms and the plugin pass, or, under the
    product's activity (whose context is a ``reasoning.GraphContext``), the one derived from
    the subtask in the state (a fan-out branch gets it in its ``Send`` payload)."""
    ctx = runtime.context
    if isinstance(ctx, dict):
        return ctx  # type: ignore[return-value]
    return subtask_context(str(state["subtask"]["id"]))


def _headers(ctx: RunContext) -> dict[str, str]:
    """Who is calling: the stub logs calls per arm and run, the controller kills by pid."""
    return {"X-Recovery-Arm": ctx["arm"], "X-Recovery-Run": ctx["run"], "X-Recovery-Pid": str(os.getpid())}


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
                default_headers=_headers(ctx),
            )
        return _models[key]


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


def _with_caller_headers(model: Any, ctx: RunContext) -> tuple[Any, dict[str, Any]]:
    """The product's model sending the caller headers, and the call's extra arguments.

    The headers go on a copy of its HTTP client, not in the call's arguments: LangChain puts
    a call's arguments in the cache key the product's call log fingerprints, so a retry in
    another process (another pid) would never find its predecessor's calls. The client's
    default headers are not in that key, and the request the product makes is unchanged.
    """
    root = getattr(model, "root_client", None)
    if root is None:  # no OpenAI client to carry them: per call (then in the fingerprint)
        return model, {"extra_headers": _headers(ctx)}
    client = root.with_options(default_headers=_headers(ctx))
    return model.model_copy(update={"root_client": client, "client": client.chat.completions}), {}


def _call_product_model(model: Any, ctx: RunContext, role: str, text: str) -> str:
    # The product's OpenAI-compatible client sends no caller headers; the stub needs them.
    caller, extra = _with_caller_headers(model, ctx)
    reply = caller.invoke([("system", f"You are the {role}."), ("human", text)], **extra)
    return str(reply.content)


# A1t: the same call wrapped as a LangGraph task, so a finished call survives a crash
# of the node that made it (its result is saved as a write of the running superstep).
_model_task = task(name="model_call")(_call_model_raw)


def call_model(runtime: Runtime[Any], ctx: RunContext, role: str, text: str) -> str:
    """One model call: the product's model under its activity, else the run's own client
    (as a durable @task when the arm asks for it).

    Once the reply is in the graph's hands the controller hears of it (``call_end``, with the
    stub's hash of the request): the stub's log says when it sent a reply, this says when the
    process had it, so a reply still in transit at a kill is not counted as one it had.
    """
    product = _product_model(runtime)
    if product is not None:
        reply = _call_product_model(product, ctx, role, text)
    elif ctx.get("use_tasks"):
        reply = str(_model_task(ctx, role, text).result())
    else:
        reply = _call_model_raw(ctx, role, text)
    probe(ctx["events"], "call_end", ctx["run"], hash=request_hash(role, text))
    return reply


def request_hash(role: str, text: str) -> str:
    """The stub's hash of the request a call of `role` on `text` sends (OpenAI's message roles)."""
    return prompt_hash([{"role": "system", "content": f"You are the {role}."}, {"role": "user", "content": text}])


def _plan(state: WorkState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    ctx = run_context(runtime, state)
    question = state.get("question") or state["subtask"]["question"]
    plan = call_model(runtime, ctx, "planner", f"Plan the research for: {question}")
    update: dict[str, Any] = {"plan": plan, "loops": 0}
    if "question" not in state:  # under the product the question arrives as the subtask's
        update["question"] = question
    return update


def _retrieve(state: WorkState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    ctx = run_context(runtime, state)
    query = call_model(runtime, ctx, "searcher", f"Write a search query for: {state['question']}")
    memory.seed_corpus(ctx["memory_dir"])
    passages = memory.search(ctx["memory_dir"], f"{state['question']} {query}")
    picked = call_model(runtime, ctx, "reader", "Pick the evidence:\n" + "\n".join(passages))
    return {"query": query, "evidence": [*passages, picked]}


def _analyze(arg: dict[str, Any], runtime: Runtime[RunContext]) -> dict[str, Any]:
    text = f"Analyse {arg['aspect']} given:\n" + "\n".join(arg["evidence"])
    ctx = run_context(runtime, arg)
    return {"notes": {arg["aspect"]: call_model(runtime, ctx, f"{arg['aspect']} analyst", text)}}


def _remember(state: WorkState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    ctx = run_context(runtime, state)
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
    return {"draft": call_model(runtime, run_context(runtime, state), "writer", text)}


def _critique(state: WorkState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    ctx = run_context(runtime, state)
    critique = call_model(runtime, ctx, "critic", f"Critique this answer:\n{state['draft']}")
    loops = state.get("loops", 0)
    revise = loops < MAX_REVISIONS and hashlib.sha256(critique.encode()).digest()[0] % 4 != 0
    if revise:
        return {"critique": critique, "loops": loops + 1}
    return {"critique": critique, "answer": state["draft"]}


def _fan_out(state: WorkState) -> list[Send]:
    # A branch sees only its payload, so under the product the subtask rides along.
    extra = {"subtask": state["subtask"]} if "subtask" in state else {}
    return [Send("analyze", {"aspect": a, "evidence": state["evidence"], **extra}) for a in ASPECTS]


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


def _started(runtime: Runtime[RunContext], state: Mapping[str, Any]) -> None:
    """Under Temporal, a retried attempt is how the crash was noticed: tell the controller."""
    activity = sys.modules.get("temporalio.activity")  # never imported outside a worker
    if activity is not None and activity.in_activity() and activity.info().attempt > 1:
        ctx = run_context(runtime, state)
        probe(ctx["events"], "attempt_start", ctx["run"], attempt=activity.info().attempt)


def _returned(
    name: str, runtime: Runtime[RunContext], state: Mapping[str, Any], update: dict[str, Any]
) -> dict[str, Any]:
    """Report the node's return to the controller (which may kill us right there)."""
    ctx = run_context(runtime, state)
    probe(ctx["events"], "node_end", ctx["run"], node=name)
    return update


# Module-level nodes (the LangGraph plugin names its activities after them).
def plan_node(state: WorkState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    _started(runtime, state)
    return _returned("plan", runtime, state, _plan(state, runtime))


def retrieve_node(state: WorkState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    _started(runtime, state)
    return _returned("retrieve", runtime, state, _retrieve(state, runtime))


def analyze_node(arg: dict[str, Any], runtime: Runtime[RunContext]) -> dict[str, Any]:
    _started(runtime, arg)
    return _returned("analyze", runtime, arg, _analyze(arg, runtime))


def remember_node(state: WorkState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    _started(runtime, state)
    return _returned("remember", runtime, state, _remember(state, runtime))


def synthesize_node(state: WorkState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    _started(runtime, state)
    return _returned("synthesize", runtime, state, _synthesize(state, runtime))


def critique_node(state: WorkState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    _started(runtime, state)
    return _returned("critique", runtime, state, _critique(state, runtime))


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
