"""Compile and run a registered graph: node callbacks, restart or resume, budgets."""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import time
import uuid
from collections.abc import Callable
from typing import Any, Literal

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.errors import GraphRecursionError
from langgraph.types import Command
from pydantic import BaseModel

from reasoning._meter import Budgets, Meter
from reasoning.call_log import CallScope, call_scope, claim, shared_call_log, with_call_log
from reasoning.call_log.scope import TaskStarts
from reasoning.call_log.tool_calls import answer_step
from reasoning.checkpoints import CheckpointConfig, open_saver
from reasoning.context import GraphContext
from reasoning.errors import BudgetExceededError, ConfigError
from reasoning.events import EventSink, ModelCallEvents, RunEvent
from reasoning.observer import RunObserver
from reasoning.registry import GraphSpec
from reasoning.steps import PendingStep, StepAnswer, pending_of
from reasoning.tracing import SpanRecorder

Mode = Literal["restart", "resume"]


class NodeEvent(BaseModel):
    """One finished node; kept small because the activity heartbeats it."""

    node: str
    step: int
    details: dict[str, Any] = {}
    replayed_calls: int = 0  # calls of this run answered from the call log so far


class RunResult(BaseModel):
    """What a run produced and what it cost (counts cover this process's run only).

    `model_calls` and the tokens are what the provider was asked for; the `replayed_*` fields
    count calls the call log answered (no request made; the tokens are what they would have cost).
    """

    output: dict[str, Any]
    steps: int
    nodes_run: list[str]
    resumed: bool
    model_calls: int
    tokens: int
    seconds: float
    input_tokens: int = 0
    output_tokens: int = 0
    replayed_calls: int = 0
    replayed_input_tokens: int = 0
    replayed_output_tokens: int = 0
    tool_calls: int = 0
    replayed_tool_calls: int = 0
    pending: PendingStep | None = None  # the run stopped here for the workflow (output is empty then)


async def arun_graph(
    spec: GraphSpec,
    graph_input: BaseModel | dict[str, Any],
    *,
    context: GraphContext,
    mode: Mode = "restart",
    thread_id: str | None = None,
    checkpoint: CheckpointConfig | None = None,
    on_node: Callable[[NodeEvent], None] | None = None,
    budgets: Budgets | None = None,
    attempt: int | None = None,
    observer: RunObserver | None = None,
    on_event: EventSink | None = None,
    answers: list[StepAnswer] | None = None,
) -> RunResult:
    """Run `spec` on `graph_input` and return its validated output, or the step it stopped at.

    Args:
        spec: the registered graph.
        graph_input: its input model (or a dict that validates as it).
        context: retriever and model, passed as LangGraph runtime context.
        mode: "restart" runs from the first node without a checkpointer; "resume" keeps
            checkpoints under `thread_id`, continues unfinished work with `invoke(None)` and
            returns a finished thread's stored output without running it (`resume_point`).
        thread_id: required for resume (e.g. "workflow_id/run_id/activity_id"); with
            `CheckpointConfig.sqlite_dir`, the part before the first "/" names the database.
            With a `checkpoint` store it also names the run's call log, in either mode.
        checkpoint: where resume keeps checkpoints, and where every run with a `thread_id`
            logs its model calls (`CheckpointConfig.call_log`): a later run of the same thread
            (a retry) gets each call it makes again from the log, as long as the request is
            the same, without asking the provider.
        on_node: called once per finished node (the activity passes its heartbeat); in
            resume mode only after that node's step is checkpointed, so a node reported
            finished is never re-run by a later resume.
        budgets: step, model call, token and wall-time limits. The wall-time limit cancels
            the run between nodes; a sync node already running finishes its current call.
        attempt: the fencing token (the activity passes Temporal's attempt number). The
            attempt claims the thread before reading it, and once a higher attempt has claimed
            the thread every checkpoint write of this one is refused, so a zombie (a paused
            process past its heartbeat timeout) cannot fork the chain, and it makes no further
            model call (the call log checks the owner before each one). None: no fencing (one
            writer per thread, e.g. a notebook).
        observer: told of every model call (node, tokens in/out) and every node's wall
            time; the activity adapts it to Temporal's metric meter.
        on_event: receives live `RunEvent`s (node start/finish with timings, model calls
            with tokens, tool calls, streamed tokens, a resume); may be called from LangGraph's
            worker threads. None: no events, and the run streams exactly as before.
        answers: the answers to the steps earlier runs of this thread stopped at (`reasoning.steps`);
            a run that reaches a step with no answer returns it as `RunResult.pending`.

    Raises:
        ConfigError: bad mode/thread/checkpoint settings, or an input that does not validate.
        GraphFactoryError: the graph's factory raised.
        BudgetExceededError: a budget ran out.
        ModelError: the provider failed (see `retryable`).
        SupersededAttemptError: resume mode, a higher attempt owns the thread.
        CheckpointBusyError: resume mode, the checkpoint store stayed locked past its busy timeout.
    """
    if mode not in ("restart", "resume"):
        raise ConfigError(f"Unknown mode {mode!r}: use 'restart' or 'resume'.")
    if mode == "resume" and not thread_id:
        raise ConfigError("Resume mode needs a thread_id, e.g. 'workflow_id/activity_id'.")
    payload = _input_dict(spec, graph_input)
    builder = spec.build()
    scope = await _call_scope(spec, checkpoint, thread_id, attempt)
    if scope is not None:
        context = dataclasses.replace(context, model=with_call_log(context.model))
        await asyncio.to_thread(_write_tool_answers, scope, answers or [])
    questions = [a.answer for a in answers or [] if a.step.kind == "question"]
    run = _Run(spec, context, budgets or Budgets(), on_node, observer, on_event, scope)
    with call_scope(scope):
        if mode == "restart":
            # An in-memory saver only so a graph's interrupt() works; restart keeps nothing across runs.
            graph = builder.compile(checkpointer=InMemorySaver())
            return await run.drive(graph, payload, thread_id or str(uuid.uuid4()), False, questions)
        assert thread_id is not None
        async with open_saver(checkpoint, thread_id, attempt) as saver:
            return await run.drive(builder.compile(checkpointer=saver), payload, thread_id, True, questions)


def _write_tool_answers(scope: CallScope, answers: list[StepAnswer]) -> None:
    """Put each lifted tool's answer where its call will look (see `reasoning.steps`)."""
    for answer in answers:
        if answer.step.kind == "tool":
            answer_step(scope, answer.step, answer.answer)


async def _call_scope(
    spec: GraphSpec, checkpoint: CheckpointConfig | None, thread_id: str | None, attempt: int | None
) -> CallScope | None:
    """The run's call log, claimed for `attempt` (None: no log wanted, or it cannot open).

    The store is this process's shared one for the job's database, never closed by the run:
    when a node raises, LangGraph returns while sibling branches still run on its threads, and
    the calls they finish must still be logged. Opened and claimed on a thread: a claim may wait
    for a paused writer's lock, and the event loop must keep the activity's heartbeats going.

    Raises:
        SupersededAttemptError: a higher attempt owns the thread; nothing has run.
    """
    if checkpoint is None or not checkpoint.call_log or not thread_id:
        return None

    def open_and_claim() -> CallScope | None:
        store = claim(shared_call_log(checkpoint, thread_id), thread_id, attempt)
        return None if store is None else CallScope(store, thread_id, attempt, spec.key)

    return await asyncio.to_thread(open_and_claim)


def run_graph(
    spec: GraphSpec,
    graph_input: BaseModel | dict[str, Any],
    *,
    context: GraphContext,
    mode: Mode = "restart",
    thread_id: str | None = None,
    checkpoint: CheckpointConfig | None = None,
    on_node: Callable[[NodeEvent], None] | None = None,
    budgets: Budgets | None = None,
    attempt: int | None = None,
    observer: RunObserver | None = None,
    on_event: EventSink | None = None,
    answers: list[StepAnswer] | None = None,
) -> RunResult:
    """Synchronous twin of `arun_graph` (same arguments, same result).

    Inside a running event loop (a notebook) it runs on a helper thread, so it never
    nests loops; there, prefer ``await arun_graph(...)``.
    """
    coro_args = (spec, graph_input)
    kwargs: dict[str, Any] = {
        "context": context,
        "mode": mode,
        "thread_id": thread_id,
        "checkpoint": checkpoint,
        "on_node": on_node,
        "budgets": budgets,
        "attempt": attempt,
        "observer": observer,
        "on_event": on_event,
        "answers": answers,
    }
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(arun_graph(*coro_args, **kwargs))
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(arun_graph(*coro_args, **kwargs))).result()


def _input_dict(spec: GraphSpec, graph_input: BaseModel | dict[str, Any]) -> dict[str, Any]:
    raw = graph_input.model_dump(mode="json") if isinstance(graph_input, BaseModel) else graph_input
    try:
        return spec.input_model.model_validate(raw).model_dump(mode="json")
    except Exception as exc:
        raise ConfigError(f"Input for {spec.key} does not validate as {spec.input_model.__name__}: {exc}") from exc


def _interrupted(state: Any) -> bool:
    """Whether a thread's latest checkpoint stopped at an interrupt."""
    return any(getattr(task, "interrupts", ()) for task in state.tasks or ())


def resume_point(state: Any) -> Literal["fresh", "continue", "finished"]:
    """Where a resume-mode run starts, decided from the thread's whole LangGraph state.

    * "fresh": the thread has no checkpoint; run from the input.
    * "continue": the latest checkpoint has tasks, pending or with saved writes; run
      with ``None`` so LangGraph applies the saved writes and runs only what is left.
      ``state.next`` alone is not enough: it leaves out tasks whose writes were saved,
      so a process stopped after a node's writes but before the next checkpoint leaves
      a thread with an empty ``next`` that is not finished (issue 16).
    * "finished": a checkpoint with no task at all, i.e. the graph reached its end; the
      stored values are the output, and nothing runs again.
    """
    if not (state.config or {}).get("configurable", {}).get("checkpoint_id"):
        return "fresh"
    if state.tasks:
        return "continue"
    return "finished"


class _Run:
    """One run's bookkeeping: meter, node events, output validation."""

    def __init__(
        self,
        spec: GraphSpec,
        context: GraphContext,
        budgets: Budgets,
        on_node: Callable[[NodeEvent], None] | None,
        observer: RunObserver | None = None,
        on_event: EventSink | None = None,
        scope: CallScope | None = None,
    ) -> None:
        self.spec, self.context, self.budgets, self.on_node = spec, context, budgets, on_node
        self.scope = scope
        self.on_event = on_event
        self.meter = Meter(budgets, observer)
        self.nodes_run: list[str] = []
        self._started: dict[str, float] = {}  # node -> monotonic start, for node timings

    async def drive(
        self, graph: Any, payload: dict[str, Any], thread_id: str, durable: bool, questions: list[Any]
    ) -> RunResult:
        config: dict[str, Any] = {
            "configurable": {"thread_id": thread_id},
            "callbacks": [
                self.meter,
                SpanRecorder(self.spec.key, self.context.model),
                *([ModelCallEvents(self.on_event)] if self.on_event else []),
                *([TaskStarts(self.scope)] if self.scope else []),
            ],
            "recursion_limit": self.budgets.max_steps,
        }
        start: Any = payload
        resumed, offset, unused = False, 0, list(questions)
        if durable:
            state = await graph.aget_state(config)
            point = resume_point(state)
            if point != "fresh":  # never apply the input on top of an existing chain
                start, resumed = None, True
                offset = max(0, int((state.metadata or {}).get("step", 0) or 0))
                if self.on_event is not None:
                    self.on_event(RunEvent(kind="resumed", step=offset))
                if _interrupted(state) and questions:  # the question it stopped at was answered: the latest answer
                    start, unused = Command(resume=questions[-1]), []
            if point == "finished":  # a thread that reached its end: its stored output, nothing re-run
                return self._result(state.values, resumed)
        while True:
            values, interrupts = await self._stream(graph, start, config, offset, durable)
            if not interrupts:
                break
            step = pending_of(interrupts)
            if step.kind == "tool" or not unused:  # the workflow's to answer
                return self._result({}, resumed, pending=step)
            start = Command(resume=unused.pop(0))  # restart mode: questions answered before, in order
        if durable:
            values = (await graph.aget_state(config)).values
        return self._result(values, resumed)

    def _result(self, values: dict[str, Any], resumed: bool, pending: PendingStep | None = None) -> RunResult:
        output = {} if pending else self.spec.output_model.model_validate(values).model_dump(mode="json")
        return RunResult(
            pending=pending,
            tool_calls=self.meter.tool_calls,
            replayed_tool_calls=self.meter.replayed_tool_calls,
            output=output,
            steps=len(self.nodes_run),
            nodes_run=self.nodes_run,
            resumed=resumed,
            model_calls=self.meter.model_calls,
            tokens=self.meter.tokens,
            seconds=round(self.meter.seconds, 4),
            input_tokens=self.meter.input_tokens,
            output_tokens=self.meter.output_tokens,
            replayed_calls=self.meter.replayed_calls,
            replayed_input_tokens=self.meter.replayed_input_tokens,
            replayed_output_tokens=self.meter.replayed_output_tokens,
        )

    async def _stream(
        self,
        graph: Any,
        start: Any,
        config: dict[str, Any],
        offset: int,
        durable: bool,
    ) -> tuple[dict[str, Any], list[Any]]:
        """Stream the graph, reporting each node once its step's state is saved; its last values
        and the interrupts it stopped at (none when it reached its end).

        A node's update arrives before LangGraph saves the step; its "values" chunk arrives
        after (with durability="sync"). Reporting on the values chunk means a node the
        callback saw finish is never re-run by a resume, even after a SIGKILL.
        """
        values: dict[str, Any] = {}
        interrupts: list[Any] = []
        pending: list[tuple[str, Any]] = []
        # Restart mode's in-memory saver only serves interrupts: "exit" saves once, when the run stops.
        extra = {"durability": "sync" if durable else "exit"}
        # "tasks" chunks announce each node as it starts; only asked for when someone listens.
        modes = ["updates", "values", "tasks"] if self.on_event is not None else ["updates", "values"]
        try:
            async with asyncio.timeout(self.budgets.max_wall_s):
                stream = graph.astream(
                    start,
                    config,
                    context=self.context,
                    stream_mode=modes,
                    **extra,
                )
                async for kind, chunk in stream:
                    if kind == "tasks":
                        self._task(chunk)
                        continue
                    if kind == "updates":
                        interrupts.extend(chunk.get("__interrupt__", ()))
                        pending.extend(chunk.items())
                        continue
                    values = chunk
                    self._finished(pending, offset)
                    pending = []
                self._finished(pending, offset)
        except TimeoutError as exc:
            limit = self.budgets.max_wall_s or 0.0
            raise BudgetExceededError("wall_s", limit, round(self.meter.seconds, 3)) from exc
        except GraphRecursionError as exc:
            raise BudgetExceededError("steps", self.budgets.max_steps, len(self.nodes_run) + len(pending)) from exc
        return values, interrupts

    def _finished(self, updates: list[tuple[str, Any]], offset: int) -> None:
        for node, update in updates:
            if node.startswith("__"):
                continue
            self.nodes_run.append(node)
            self.meter.check_tokens()
            self.meter.check_wall()
            step = offset + len(self.nodes_run)
            if self.on_node is not None:
                replayed = self.meter.replayed_calls
                self.on_node(NodeEvent(node=node, step=step, details=_details(update), replayed_calls=replayed))
            if self.on_event is not None:
                started = self._started.pop(node, None)
                seconds = round(time.monotonic() - started, 4) if started is not None else None
                self.on_event(RunEvent(kind="node_finished", node=node, step=step, seconds=seconds))

    def _task(self, chunk: dict[str, Any]) -> None:
        """A "tasks" chunk: a node starting (it has "input") or its result (ignored: a node is
        reported finished only once its step is saved, in `_finished`)."""
        node = str(chunk.get("name", ""))
        if "input" not in chunk or node.startswith("__") or self.on_event is None:
            return
        self._started[node] = time.monotonic()
        self.on_event(RunEvent(kind="node_started", node=node))


def _details(update: Any) -> dict[str, Any]:
    # Heartbeat-sized: counts and flags only, never bodies.
    out: dict[str, Any] = {}
    for key, value in (update or {}).items():
        if isinstance(value, list | dict):
            out[key] = len(value)
        elif isinstance(value, bool | int | float):
            out[key] = value
    return out
