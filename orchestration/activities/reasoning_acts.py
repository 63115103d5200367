"""Reasoning activities: each builds one pinned graph from the registry and runs it.

A graph is retried as a unit (`restart`) or continues from its own checkpoint
(`resume`, thread keyed by workflow id + activity id, which is stable across retries).
In both modes the run's model calls go through the call log of that thread, so a retry
gets every call that had finished back without paying for it again.
Findings and reports go to the artifact store; the workflow receives their keys.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from temporalio import activity

from orchestration.activities.deps import WorkerDeps
from orchestration.activities.errors import to_application_error
from orchestration.activities.event_publisher import ActivityEventPublisher
from orchestration.activities.tool_support import build_tools, run_lifted_tool, tool_context
from orchestration.activities.usage_ledger import UsageLedger
from orchestration.artifacts import finding_key, report_key
from orchestration.shared import names
from orchestration.shared.messages import (
    GraphCall,
    PlanRequest,
    PlanResult,
    ReportRef,
    SubtaskRef,
    SubtaskRequest,
    SubtaskResult,
    ValidateRequest,
    ValidationResult,
    WriteRequest,
)
from orchestration.shared.steps import PendingStepRef, ToolRunRequest, ToolRunResult
from orchestration.shared.usage import CallCounts, Usage
from orchestration.telemetry.metrics import GraphMetrics, RunOutcome
from reasoning.context import GraphContext, MemoryRetriever
from reasoning.errors import BudgetExceededError
from reasoning.events import RunEvent
from reasoning.observer import RunObserver
from reasoning.report_diff import changes_since
from reasoning.runner import NodeEvent, RunResult, arun_graph
from reasoning.steps import PendingStep, StepAnswer
from reasoning.types import (
    Finding,
    PlannerInput,
    PlannerOutput,
    ResearchInput,
    Subtask,
    ValidatorInput,
    ValidatorOutput,
    WriterInput,
    WriterOutput,
)


class ReasoningActivities:
    def __init__(self, deps: WorkerDeps) -> None:
        self._deps = deps

    async def _run(self, call: GraphCall, graph_input: BaseModel) -> tuple[RunResult, Usage]:
        """Build the pinned graph, run it with heartbeats and meters; its RunResult and priced Usage.

        The Usage includes the calls of earlier attempts that returned nothing (from the usage
        ledger); a failure is raised as an ApplicationError carrying every attempt's usage.
        """
        info = activity.info()
        label = self._deps.model_label(call.model)
        metrics = GraphMetrics(
            activity.metric_meter(), graph=call.graph, model=label, queue=info.task_queue, attempt=info.attempt
        )
        name = label.partition(":")[2] or None

        def price(counts: CallCounts) -> Usage:
            return self._deps.prices.usage(call.model.provider, name, counts)

        outcome: RunOutcome = "failed"
        run: RunResult | None = None
        usage: Usage | None = None
        with UsageLedger.for_activity(self._deps.artifacts) as ledger:
            try:
                run = await self._run_graph(call, graph_input, ledger.observer(metrics))
                usage = ledger.with_earlier(price(CallCounts.of(run)), price)
                if run.replayed_calls:
                    replayed = price(
                        CallCounts(calls=run.replayed_calls, tokens_in=run.replayed_input_tokens,
                                   tokens_out=run.replayed_output_tokens)
                    )  # fmt: skip
                    usage += replayed.as_replayed()
                outcome = "completed"
                return run, usage
            except asyncio.CancelledError:
                outcome = "cancelled"
                raise
            except Exception as exc:
                outcome = "budget" if isinstance(exc, BudgetExceededError) else "failed"
                error = ledger.failure(to_application_error(exc), price)
                if error is exc:  # already an ApplicationError, no usage to add: never chain it to itself
                    raise
                raise error from exc
            finally:
                metrics.run_finished(outcome, resumed=bool(run and run.resumed), usage=usage)

    async def _run_graph(self, call: GraphCall, graph_input: BaseModel, observer: RunObserver) -> RunResult:
        """Run the pinned graph with heartbeats per node (and between nodes) and live events."""
        info = activity.info()
        spec = self._deps.registry.get(call.graph)
        last: dict[str, Any] = {"graph": call.graph, "node": None, "step": 0}

        def on_node(event: NodeEvent) -> None:
            last.update(node=event.node, step=event.step, **_small(event.details))
            if event.replayed_calls:  # the UI's activity details show what the call log saved
                last["replayed_calls"] = event.replayed_calls
            activity.heartbeat(dict(last))

        subtask = call.subtask.id if isinstance(call, SubtaskRequest) else None
        async with _heartbeat_while_running(last), ActivityEventPublisher(call.graph, subtask) as events:
            # A worker's first open of a memory imports chromadb (2-3 s, more under load): on the
            # event loop it would stop the heartbeats and a short heartbeat timeout would retry the
            # attempt, so it opens on a thread while the loop beats.
            memory = await asyncio.to_thread(self._deps.memory, call.collection)
            context = GraphContext(retriever=MemoryRetriever(memory), model=self._deps.model(call.model))
            steps = _Steps.of(call)
            if isinstance(call, SubtaskRequest) and spec.uses_tools:  # the tools its spec allows
                tools, lifted = build_tools(self._deps, call.tools, tool_context(self._deps, memory, context.model))
                limits = self._deps.tool_settings
                context = dataclasses.replace(
                    context, tools=tools, lifted=lifted,
                    max_tool_calls=limits.max_tool_calls, max_tool_errors=limits.max_tool_errors,
                )  # fmt: skip
            return await arun_graph(
                spec,
                graph_input,
                context=context,
                mode=call.recovery,
                # One thread for every segment of a graph that handed steps to the workflow.
                thread_id=f"{info.workflow_id}/{info.workflow_run_id}/{steps.thread or info.activity_id}",
                # The fencing token, growing across segments: a superseded attempt's checkpoints and
                # model calls are refused.
                attempt=steps.segment * SEGMENT_TOKENS + info.attempt,
                checkpoint=self._deps.checkpoint,  # resume mode's checkpoints; the call log in both modes
                on_node=on_node,
                observer=observer,  # the usage ledger, then the metrics
                on_event=_with_tool_details(last, events.sink),  # live events, batched into the job's stream
                answers=steps.answers,
            )

    @activity.defn(name=names.PLAN)
    async def plan(self, req: PlanRequest) -> PlanResult:
        run, usage = await self._run(
            req, PlannerInput(question=req.question, max_subtasks=req.max_subtasks, kinds=req.kinds)
        )
        out = PlannerOutput.model_validate(run.output)
        return PlanResult(
            subtasks=[SubtaskRef(id=t.id, kind=t.kind, question=t.question) for t in out.subtasks], usage=usage
        )

    @activity.defn(name=names.RUN_SUBTASK)
    async def run_subtask(self, req: SubtaskRequest) -> SubtaskResult:
        subtask = Subtask(id=req.subtask.id, kind=req.subtask.kind, question=req.subtask.question)
        run, usage = await self._run(req, ResearchInput(subtask=subtask, notes=req.notes))
        if run.pending is not None:  # the graph stopped at a step the workflow takes
            pending = run.pending
            return SubtaskResult(
                subtask_id=req.subtask.id, finding_key="", summary="", nodes_run=run.nodes_run, resumed=run.resumed,
                model_calls=run.model_calls, usage=usage, tool_calls=run.tool_calls,
                pending=PendingStepRef(
                    kind=pending.kind, durable=pending.durable, tool=pending.tool, args=pending.args,
                    question=pending.question, raw=pending.model_dump(mode="json"),
                ),
            )  # fmt: skip
        finding = Finding.model_validate(run.output)
        key = finding_key(req.job_id, req.subtask.id, req.round)
        self._deps.artifacts.put_text(key, finding.model_dump_json(indent=2))
        return SubtaskResult(
            subtask_id=req.subtask.id,
            finding_key=key,
            summary=finding.answer[:400],
            citations=len(finding.citations),
            nodes_run=run.nodes_run,
            resumed=run.resumed,
            model_calls=run.model_calls,
            usage=usage,
            tool_calls=run.tool_calls,
        )

    @activity.defn(name=names.RUN_TOOL)
    async def run_tool(self, req: ToolRunRequest) -> ToolRunResult:
        """A tool the workflow runs itself (`durable="activity"`): its own retries, timeout, heartbeats."""
        try:
            memory = await asyncio.to_thread(self._deps.memory, req.collection)
            context = tool_context(self._deps, memory, self._deps.model(req.model))
            last: dict[str, Any] = {"tool": req.tool}
            async with _heartbeat_while_running(last):
                out = await asyncio.to_thread(run_lifted_tool, self._deps, req.tool, req.args, context)
        except Exception as exc:
            raise to_application_error(exc) from exc
        return ToolRunResult.model_validate(out)

    def _findings(self, keys: list[str]) -> list[Finding]:
        return [Finding.model_validate_json(self._deps.artifacts.get_text(k)) for k in keys]

    @activity.defn(name=names.VALIDATE)
    async def validate(self, req: ValidateRequest) -> ValidationResult:
        run, usage = await self._run(req, ValidatorInput(findings=self._findings(req.finding_keys)))
        out = ValidatorOutput.model_validate(run.output)
        notes: dict[str, list[str]] = {}
        for v in out.verdicts:
            if not v.supported:
                notes.setdefault(v.subtask_id, []).append(f"unsupported: {v.claim} ({v.reason})")
        return ValidationResult(
            supported=sum(v.supported for v in out.verdicts),
            unsupported=sum(not v.supported for v in out.verdicts),
            unsupported_subtasks=out.unsupported_subtasks,
            notes={k: "\n".join(v)[:2000] for k, v in notes.items()},
            usage=usage,
        )

    @activity.defn(name=names.WRITE)
    async def write_report(self, req: WriteRequest) -> ReportRef:
        writer_input = WriterInput(question=req.question, findings=self._findings(req.finding_keys), notes=req.notes)
        run, usage = await self._run(req, writer_input)
        out = WriterOutput.model_validate(run.output)
        markdown = out.markdown
        if req.previous_report_key and self._deps.artifacts.exists(req.previous_report_key):
            previous = without_usage_footer(self._deps.artifacts.get_text(req.previous_report_key))
            markdown += changes_since(previous, markdown)  # spending is not a change of findings
        if req.usage_so_far is not None:
            markdown += usage_footer(req.usage_so_far + usage)
        key = report_key(req.job_id, req.run_number, req.revision)
        self._deps.artifacts.put_text(key, markdown)
        return ReportRef(
            key=key, title=out.title, preview=markdown[:1500], chars=len(markdown),
            references=len(out.references), usage=usage,
        )  # fmt: skip


SEGMENT_TOKENS = 1000
"""Fencing tokens per segment: a later segment's first attempt outranks every attempt of an earlier one."""


@dataclass
class _Steps:
    """A graph call's steps so far: its thread across segments, the segment, the answers."""

    thread: str = ""
    segment: int = 0
    answers: list[StepAnswer] = field(default_factory=list)

    @classmethod
    def of(cls, call: GraphCall) -> _Steps:
        if not isinstance(call, SubtaskRequest):
            return cls()
        answers = [StepAnswer(step=PendingStep.model_validate(a.step.raw), answer=a.answer) for a in call.answers]
        return cls(call.thread, call.segment, answers)


def usage_footer(total: Usage) -> str:
    """The report's last lines: what the job spent up to and including this report."""
    return f"\n\n---\n\n_{USAGE_FOOTER} {total.line()}._\n"


USAGE_FOOTER = "Spent on this report (all runs so far):"


def without_usage_footer(markdown: str) -> str:
    """The report without its usage footer: what the findings say, whatever the run cost.

    A crash changes what a job spends (the killed attempt's calls, and a retry's) but must
    not change the report; comparisons use this.
    """
    return markdown.split(f"\n\n---\n\n_{USAGE_FOOTER}", 1)[0]


def _with_tool_details(last: dict[str, Any], sink: Callable[[RunEvent], None]) -> Callable[[RunEvent], None]:
    """The event sink, also keeping the last tool call in the heartbeat details (the Temporal UI shows them)."""

    def on_event(event: RunEvent) -> None:
        if event.kind == "tool_call":
            last["tool_calls"] = int(last.get("tool_calls", 0)) + 1
            last["last_tool"] = f"{event.tool} ({'replayed' if event.replayed else 'ran'})"
        sink(event)

    return on_event


def _small(details: dict[str, Any]) -> dict[str, Any]:
    """Heartbeat details are stored by the server on every beat: keep scalars only."""
    return {k: v for k, v in details.items() if isinstance(v, (str, int, float, bool)) and len(str(v)) < 200}


@contextlib.asynccontextmanager
async def _heartbeat_while_running(last: dict[str, Any]) -> AsyncIterator[None]:
    """Beat between nodes too: one slow node must not look like a dead worker, and
    cancellation is only delivered to an activity when it heartbeats."""
    timeout = activity.info().heartbeat_timeout
    interval = max(0.2, timeout.total_seconds() / 3) if timeout else 5.0

    async def beat() -> None:
        while True:
            await asyncio.sleep(interval)
            activity.heartbeat(dict(last))

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
