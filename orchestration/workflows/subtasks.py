"""Runs a job's pending subtasks as activities, at most `parallelism` at a time.

Subtasks added (by update) while the pool runs are picked up; a failed subtask is
recorded and the others go on; cancelling the pool cancels the in-flight graphs, which
see it on their next heartbeat.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from temporalio import workflow
from temporalio.exceptions import ActivityError, CancelledError, FailureError

with workflow.unsafe.imports_passed_through():
    from orchestration.shared import names
    from orchestration.shared.messages import GraphCall, JobState, SubtaskRequest, SubtaskResult, SubtaskState
    from orchestration.shared.spec import subtask_activity_id
    from orchestration.shared.steps import StepAnswerRef
    from orchestration.shared.usage import Usage, usage_of_failure
    from orchestration.workflows import patches
    from orchestration.workflows.job_events import JobEventLog
    from orchestration.workflows.lifted_steps import LiftedSteps, TooManySteps
    from orchestration.workflows.options import ActivityOptions


class SubtaskPool:
    """Args of the constructor beyond state and options:

    graph_call: builds the GraphCall of a subtask's graph.
    account: told each finished subtask's usage (from its activity result).
    may_start: False stops new subtasks (a spent budget); running ones finish and
        `run_pending` returns with subtasks still pending.
    events: the job's event stream, told when a subtask starts and finishes.
    steps: answers the steps a graph hands over (lifted tools, questions); None: none expected.
    """

    def __init__(
        self,
        state: JobState,
        opts: ActivityOptions,
        graph_call: Callable[..., GraphCall],
        *,
        account: Callable[[SubtaskState, Usage], None] | None = None,
        may_start: Callable[[], bool] = lambda: True,
        events: JobEventLog | None = None,
        steps: LiftedSteps | None = None,
    ) -> None:
        self._state = state
        self._opts = opts
        self._graph_call = graph_call
        self._account = account
        self._may_start = may_start
        self._events = events
        self._steps = steps
        self._running: dict[str, asyncio.Task[None]] = {}

    def _pending(self) -> list[SubtaskState]:
        return [t for t in self._state.subtasks if t.status == "pending"]

    async def run_pending(self) -> None:
        """Return when no subtask is running and none is pending (or none may start)."""
        parallelism = self._state.spec.parallelism
        while True:
            pending = self._pending()
            if (not pending or not self._may_start()) and not self._running:
                return
            if pending and len(self._running) < parallelism and self._may_start():
                task = pending[0]
                task.status = "running"
                # A graph swapped by update applies to subtasks that start from now on.
                task.graph = self._state.spec.graphs.get(task.ref.kind, task.graph)
                self._running[task.ref.id] = asyncio.create_task(self._run(task))
                continue
            await workflow.wait_condition(
                lambda: (
                    (len(self._running) < parallelism and bool(self._pending()) and self._may_start())
                    or not self._running
                )
            )

    async def _run(self, task: SubtaskState) -> None:
        activity_id = subtask_activity_id(task.ref.id, task.round)
        self._publish("subtask_started", task, activity_id)
        answers: list[StepAnswerRef] = []
        try:
            while True:
                result = await workflow.execute_activity(
                    names.RUN_SUBTASK,
                    self._request(task, activity_id, answers),
                    result_type=SubtaskResult,
                    # Stable per subtask, round and step: clients map heartbeats to subtasks by it,
                    # and the graph's thread (checkpoints, call log) is keyed by the first one.
                    activity_id=f"{activity_id}/s{len(answers)}" if answers else activity_id,
                    **self._opts.subtask().kwargs(summary=_summary(task, len(answers))),
                )
                if result.pending is None or self._steps is None or not workflow.patched(patches.LIFTED_STEPS):
                    break
                await self._steps.answer(task, result, answers)
            task.result = result
            task.status, task.error = "done", None
            if self._account is not None:
                self._account(task, task.result.usage)
        except ActivityError as err:
            cancelled = isinstance(err.cause, CancelledError)
            task.status, task.error = ("cancelled", None) if cancelled else ("failed", _cause(err))
            self._account_failure(task, err)
        except TooManySteps as err:
            task.status, task.error = "failed", str(err)
        except asyncio.CancelledError:
            task.status = "cancelled"
            raise
        finally:
            self._running.pop(task.ref.id, None)
            self._publish("subtask_finished", task, activity_id)

    def _request(self, task: SubtaskState, activity_id: str, answers: list[StepAnswerRef]) -> SubtaskRequest:
        spec = self._state.spec
        return self._graph_call(task.graph, recovery=spec.recovery).request(
            SubtaskRequest, subtask=task.ref, round=task.round, notes=task.notes,
            tools=spec.tools.get(task.ref.kind), answers=list(answers), thread=activity_id, segment=len(answers),
        )  # fmt: skip

    def _account_failure(self, task: SubtaskState, err: ActivityError) -> None:
        """Count what a failed subtask's attempts spent: no result carries it, its error does."""
        if self._account is None:
            return
        usage = usage_of_failure(err)
        if usage is not None and workflow.patched(patches.USAGE_OF_FAILED_SUBTASKS):
            self._account(task, usage)

    def _publish(self, kind: str, task: SubtaskState, activity_id: str) -> None:
        if self._events is None:
            return
        result = task.result if kind == "subtask_finished" and task.status == "done" else None
        self._events.publish(
            kind,
            activity_id=activity_id,
            subtask=task.ref.id,
            graph=task.graph,
            phase=task.status,
            detail=(task.error or "")[:300]
            if result is None
            else f"{len(result.nodes_run)} nodes, {result.model_calls} model calls, {result.citations} citations",
        )
        self._events.details(self._state)

    async def stop(self) -> None:
        """Cancel in-flight graphs and wait until each acknowledged it."""
        running = list(self._running.values())
        for t in running:
            t.cancel()
        await asyncio.gather(*running, return_exceptions=True)


def _summary(task: SubtaskState, step: int = 0) -> str:
    """The UI's line for a subtask's activity; its current node is in the heartbeat details."""
    after = f" · after step {step}" if step else ""
    return f"subtask {task.ref.id} ({task.ref.kind}) · graph {task.graph} · round {task.round}{after}"


def _cause(err: ActivityError) -> str:
    """The innermost failure message that says something (activity errors nest)."""
    cause: BaseException | None = err.cause
    while isinstance(cause, FailureError) and cause.cause is not None and not str(cause):
        cause = cause.cause
    return str(cause or err)
