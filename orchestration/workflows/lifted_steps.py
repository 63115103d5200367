"""One subtask's graph, run as activities until it finishes, answering the steps it hands over.

A graph activity may return a `PendingStepRef` instead of a finding: a tool marked to run as an
activity, a tool that asks a person, or a graph's own `interrupt()`. The workflow answers it (the
tool runs as a `reasoning.run_tool` activity of its own, with its own retries and timeout and its
own line in the Temporal UI; a person answers through the job's `answer` update, waited for on a
durable timer) and runs the graph activity again with every answer so far. That activity carries
the same graph thread (`SubtaskRequest.thread`) and a fencing token that keeps growing across
segments (`segment`), so it resumes where the graph stopped: from its checkpoint in `resume` mode,
from the call log in `restart` mode. Only the steps that need it leave the graph activity.

Histories recorded before this patch never saw a pending step: they replay without it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from orchestration.shared import names
    from orchestration.shared.messages import SubtaskResult, SubtaskState
    from orchestration.shared.spec import JobSpec
    from orchestration.shared.steps import (
        MAX_LIFTED_STEPS,
        PendingStepRef,
        StepAnswerRef,
        ToolRunRequest,
        ToolRunResult,
    )
    from orchestration.shared.usage import Usage
    from orchestration.workflows.options import ActivityOptions

UNANSWERED = "No answer was given before the deadline; go on with what you have."


class TooManySteps(Exception):
    """A graph handed over more steps than `MAX_LIFTED_STEPS`."""


class LiftedSteps:
    """Runs one subtask's graph segments and answers their steps.

    Args:
        spec: the job's spec (tools, model, the question deadline).
        opts: activity options (the tool activity's queue, timeouts, retries).
        job_id: the job (tool activities index what they read into its collection).
        account: told a subtask's usage of every segment that stopped at a step (the caller counts the last).
        ask: publishes a step to a person (an event); the answer arrives on `task.answer`.
    """

    def __init__(
        self,
        spec: JobSpec,
        opts: ActivityOptions,
        job_id: str,
        account: Callable[[SubtaskState, Usage], None],
        ask: Callable[[SubtaskState, PendingStepRef], None],
    ) -> None:
        self._spec, self._opts, self._job_id = spec, opts, job_id
        self._account, self._ask = account, ask

    async def answer(self, task: SubtaskState, result: SubtaskResult, answers: list[StepAnswerRef]) -> None:
        """Answer `result.pending` and add it to `answers` (its segment's usage counted here).

        Raises:
            TooManySteps: the graph asked for more steps than a subtask may take.
        """
        step = result.pending
        assert step is not None
        self._account(task, result.usage)
        task.steps += 1
        if task.steps > MAX_LIFTED_STEPS:
            raise TooManySteps(f"the graph handed over more than {MAX_LIFTED_STEPS} steps")
        if step.durable == "activity" and step.kind == "tool":
            value: object = await self._run_tool(task, step)
        else:
            value = await self._ask_person(task, step)
        answers.append(StepAnswerRef(step=step, answer=value))

    async def _run_tool(self, task: SubtaskState, step: PendingStepRef) -> dict[str, object]:
        out = await workflow.execute_activity(
            names.RUN_TOOL,
            ToolRunRequest(
                job_id=self._job_id, tool=step.tool, args=step.args, collection=self._spec.collection,
                model=self._spec.model,
            ),
            result_type=ToolRunResult,
            activity_id=f"tool/{task.ref.id}/r{task.round}/{task.steps}",
            **self._opts.tool().kwargs(summary=f"tool {step.tool} for subtask {task.ref.id}"),
        )  # fmt: skip
        return out.model_dump(mode="json")

    async def _ask_person(self, task: SubtaskState, step: PendingStepRef) -> str:
        task.question, task.answer = step, None
        self._ask(task, step)
        try:
            await workflow.wait_condition(
                lambda: task.answer is not None,
                timeout=max(self._spec.question_deadline, timedelta(seconds=1)),
                timeout_summary=f"answer for subtask {task.ref.id}",
            )
            answer = str(task.answer)
        except TimeoutError:
            answer = UNANSWERED
        task.question, task.answer = None, None
        return answer
