"""ResearchJobWorkflow: the long-lived lifecycle of one research job (sandboxed, deterministic).

Ingest -> plan -> subtasks (bounded parallelism, partial failure tolerated) -> validate
(unsupported findings go back once) -> write -> approval wait on a durable timer ->
publish saga. Every side effect is an activity; this module only decides.

Longer than the house's ~450 lines on purpose: it is one workflow class, and Temporal's
updates, signals, queries and their validators (about half of it) must be methods of that
class. What is not the lifecycle itself already lives apart: the subtask rounds
(`subtasks.py`), tool steps and questions lifted out of graphs (`lifted_steps.py`), the
publish saga (`publish.py`), the budget gate (`budget_gate.py`) and the activity options
(`options.py`).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from orchestration.shared import names
    from orchestration.shared.messages import (
        FINAL_PHASES,
        AddSubtask,
        ApprovalSignal,
        Decision,
        GraphCall,
        IngestRequest,
        IngestSummary,
        JobInput,
        JobProgress,
        JobResult,
        JobState,
        PlanRequest,
        PlanResult,
        ReportRef,
        SubtaskRef,
        SubtaskState,
        SwapGraph,
        ValidateRequest,
        ValidationResult,
        WriteRequest,
    )
    from orchestration.shared.spec import JobSpec, Recovery
    from orchestration.shared.steps import AnswerRequest, PendingStepRef
    from orchestration.shared.usage import BudgetChange, Usage
    from orchestration.workflows import patches
    from orchestration.workflows.budget_gate import BudgetSpent, within_budget
    from orchestration.workflows.engine_ingest import ingest_through_engine
    from orchestration.workflows.job_events import JobEventLog
    from orchestration.workflows.lifted_steps import LiftedSteps
    from orchestration.workflows.options import ActivityOptions
    from orchestration.workflows.publish import PublishSaga
    from orchestration.workflows.subtasks import SubtaskPool

# How long an answer waits for its question to be asked (see `answer`).
ANSWER_GRACE = timedelta(seconds=30)
# Phases in which the plan can still change (swap a graph, add a subtask).
_OPEN_PHASES = ("ingesting", "planning", "researching", "validating")


@workflow.defn(name=names.WORKFLOW)
class ResearchJobWorkflow:
    @workflow.init
    def __init__(self, inp: JobInput) -> None:
        self._input = inp
        self._state = inp.state or JobState(spec=inp.spec)
        self._opts = ActivityOptions(inp.queues, inp.tuning)
        self._decision: tuple[str, Decision] | None = None
        self._metered = False  # set in run(): workflow.patched() may not be called from a query
        self._events = JobEventLog(inp.events, retention=inp.tuning.event_retention)
        steps = LiftedSteps(
            self._state.spec, self._opts, workflow.info().workflow_id,
            account=lambda task, usage: self._account("researching", usage, task), ask=self._ask,
        )  # fmt: skip
        self._pool = SubtaskPool(
            self._state, self._opts, self._graph_call,
            account=lambda task, usage: self._account("researching", usage, task),
            may_start=lambda: self._budget_spent() is None,
            events=self._events, steps=steps,
        )  # fmt: skip
        self._saga = PublishSaga(self._state, self._opts)

    # --- lifecycle -----------------------------------------------------------

    @workflow.run
    async def run(self, inp: JobInput) -> JobResult:
        s = self._state
        self._metered = workflow.patched(patches.USAGE_ACCOUNTING_AND_BUDGETS)
        # Phase changes reach the event stream and the UI's current details from one place.
        # A run continued from another repeats its phase: say so, or watchers see it twice unexplained.
        self._events.phase(s, note=f"run {s.run_number} continued" if inp.events is not None else "")
        follow = asyncio.create_task(self._follow_phase())
        try:
            await self._lifecycle()
        except BudgetSpent as spent:
            s.phase, s.budget_note = "budget_exceeded", None
            s.error = f"budget spent ({spent}); no raise_budget came within the wait; the result holds what was done"
        except asyncio.CancelledError:
            await self._pool.stop()
            s.phase = "cancelled"
            self._events.phase(s)
            self._count_phase()
            await self._saga.compensate()
            raise
        except _JobFailed as failure:
            s.phase, s.error = "failed", str(failure)
            self._events.phase(s)
            self._count_phase()
            await self._saga.compensate()
            raise ApplicationError(str(failure), type="JobFailed", non_retryable=True) from None
        finally:
            follow.cancel()
        self._events.phase(s)
        self._count_phase()
        return self._result()

    async def _follow_phase(self) -> None:
        """Publish every phase change as it happens (workflow-local: no command, replay-safe)."""
        s = self._state
        while True:
            seen = s.phase
            await workflow.wait_condition(lambda seen=seen: s.phase != seen)  # type: ignore[misc]
            self._events.phase(s)

    async def _lifecycle(self) -> None:
        s = self._state
        if s.phase == "ingesting":
            await self._ingest()
            await self._advance("planning")
        if s.phase == "planning":
            await self._plan()
            await self._advance("researching")
        if s.phase == "researching":
            await self._research()
            await self._advance("validating")
        if s.phase == "validating":
            await self._validate()
            await self._advance("writing")
        if s.phase == "writing":
            await self._write()
            await self._advance("awaiting_approval")
        if s.phase == "awaiting_approval":
            await self._await_approval()
        if s.phase == "publishing":
            outcome = await self._saga.run()
            if outcome == "failed":
                raise _JobFailed(f"publish failed and was compensated: {s.error}")
            s.phase = "rejected" if outcome == "recalled" else "completed"
        if s.phase == "waiting_next_run" or (s.phase in ("completed", "rejected") and self._recurs()):
            await self._next_run()

    async def _advance(self, phase: str) -> None:
        """Move to the next phase; continue-as-new here when the server suggests it."""
        self._state.phase = phase  # type: ignore[assignment]
        self._events.phase(self._state)  # now, so it precedes the events of the phase's own work
        self._count_phase()
        if workflow.info().is_continue_as_new_suggested():
            await self._continue_as_new()

    async def _continue_as_new(self) -> None:
        self._events.phase(self._state)
        # Waiting watchers are released first (they follow the next run); handlers (updates)
        # must finish, or their callers would see them aborted.
        self._events.detach()
        await workflow.wait_condition(workflow.all_handlers_finished)
        self._state.continued += 1
        workflow.continue_as_new(
            JobInput(
                spec=self._state.spec,
                queues=self._input.queues,
                tuning=self._input.tuning,
                state=self._state,
                events=self._events.snapshot(),
            )
        )

    # --- steps ---------------------------------------------------------------

    async def _ingest(self) -> None:
        spec = self._state.spec
        if not spec.corpus:
            self._state.ingest = IngestSummary()
            return
        # Ingest through the batch engine was added after the first release (opt-in per spec).
        if spec.ingest_engine_min_documents is not None and workflow.patched(patches.INGEST_THROUGH_BATCH_ENGINE):
            summary = await ingest_through_engine(spec, self._input.queues, self._input.tuning, self._opts)
            if summary is not None:
                self._state.ingest = summary
                return
        self._state.ingest = await workflow.execute_activity(
            names.INGEST,
            IngestRequest(sources=spec.corpus, collection=spec.collection),
            result_type=IngestSummary,
            **self._opts.ingest().kwargs(summary=f"ingest {len(spec.corpus)} source(s) into {spec.collection}"),
        )

    async def _plan(self) -> None:
        s = self._state
        if s.planned:
            return
        spec = s.spec
        await self._within_budget()
        plan = await workflow.execute_activity(
            names.PLAN,
            self._graph_call(spec.planner).request(
                PlanRequest, question=spec.question, max_subtasks=spec.max_subtasks, kinds=list(spec.graphs)
            ),
            result_type=PlanResult,
            **self._opts.reasoning().kwargs(summary=f"plan · graph {spec.planner}"),
        )
        self._account("planning", plan.usage)
        for ref in plan.subtasks:
            kind = ref.kind if ref.kind in spec.graphs else next(iter(spec.graphs))
            ref = SubtaskRef(id=ref.id, kind=kind, question=ref.question)
            s.subtasks.append(SubtaskState(ref=ref, graph=spec.graphs[kind]))
        s.planned = True
        if not s.subtasks:
            raise _JobFailed("the planner produced no subtasks")

    async def _research(self) -> None:
        await self._pool.run_pending()
        while any(t.status == "pending" for t in self._state.subtasks):
            # The pool stops starting subtasks when the budget is spent; a raise resumes it.
            await self._within_budget()
            await self._pool.run_pending()
        if not any(t.status == "done" for t in self._state.subtasks):
            raise _JobFailed("every subtask failed: " + "; ".join(self._errors()))

    async def _validate(self) -> None:
        s = self._state
        while True:
            await self._within_budget()
            s.validation = await workflow.execute_activity(
                names.VALIDATE,
                self._graph_call(s.spec.validator).request(ValidateRequest, finding_keys=self._keys()),
                result_type=ValidationResult,
                **self._opts.reasoning().kwargs(summary=f"validate · graph {s.spec.validator}"),
            )
            self._account("validating", s.validation.usage)
            send_back = [
                t for t in s.subtasks
                if t.ref.id in s.validation.unsupported_subtasks and t.status == "done"
            ]  # fmt: skip
            # Sending findings back for a second round was added after the first release.
            if not send_back or s.validation_rounds_done >= s.spec.validation_rounds:
                return
            if not workflow.patched(patches.VALIDATION_SEND_BACK):
                return
            s.validation_rounds_done += 1
            for t in send_back:
                t.status, t.round = "pending", t.round + 1
                t.notes = s.validation.notes.get(t.ref.id, "claims were not supported")
            s.phase = "researching"
            await self._research()
            s.phase = "validating"

    async def _write(self, notes: str = "") -> None:
        s = self._state
        await self._within_budget()
        s.report = await workflow.execute_activity(
            names.WRITE,
            self._graph_call(s.spec.writer).request(
                WriteRequest,
                question=s.spec.question,
                finding_keys=self._keys(),
                notes=notes,
                revision=len(s.revisions),
                run_number=s.run_number,
                previous_report_key=s.previous_report_key,
                usage_so_far=s.usage if self._metered else None,
            ),
            result_type=ReportRef,
            **self._opts.reasoning().kwargs(summary=f"write · graph {s.spec.writer} · revision {len(s.revisions)}"),
        )
        self._account("writing", s.report.usage)

    async def _await_approval(self) -> None:
        s = self._state
        policy = s.spec.approval
        if not policy.required:
            s.approval, s.phase = "auto", "publishing"
            self._events.publish("approval", phase="auto", detail="approval not required")
            return
        while s.phase == "awaiting_approval":
            if s.approval_deadline is None:
                s.approval_deadline = workflow.now() + policy.deadline
            remaining = s.approval_deadline - workflow.now()
            try:
                await workflow.wait_condition(
                    lambda: self._decision is not None or workflow.info().is_continue_as_new_suggested(),
                    timeout=max(remaining, timedelta(seconds=1)),
                    timeout_summary="approval deadline",
                )
            except TimeoutError:
                await self._deadline_passed()
                continue
            if self._decision is None:
                await self._continue_as_new()  # waiting a long time grows no history, but revisions do
                return
            await self._apply_decision(*self._decision)
            self._decision = None

    async def _deadline_passed(self) -> None:
        s = self._state
        policy = s.spec.approval
        s.approval_deadline = None
        self._events.publish("approval", phase="deadline", detail=f"deadline passed; policy {policy.on_timeout}")
        if policy.on_timeout == "approve":
            s.approval, s.decided_by, s.phase = "timed_out", "deadline", "publishing"
        elif policy.on_timeout == "escalate" and s.approval != "escalated":
            s.approval = "escalated"
            await self._saga.notify_escalation(policy.escalate_to)
        else:
            s.approval, s.decided_by, s.phase = "timed_out", "deadline", "rejected"

    async def _apply_decision(self, action: str, decision: Decision) -> None:
        s = self._state
        s.decided_by = decision.by
        self._events.publish("approval", phase=action, detail=f"by {decision.by}: {decision.notes[:200]}".rstrip(": "))
        if action == "approve":
            s.approval, s.phase = "approved", "publishing"
        elif action == "reject":
            s.approval, s.phase = "rejected", "rejected"
        else:
            s.revisions.append(decision.notes)
            s.phase = "writing"
            await self._write(notes=decision.notes)
            s.phase, s.approval, s.approval_deadline = "awaiting_approval", "pending", None

    # --- usage and budget -----------------------------------------------------

    def _account(self, phase: str, usage: Usage, task: SubtaskState | None = None) -> None:
        """Add one finished activity's usage to the job, its phase and its subtask."""
        if not self._metered:
            return
        s = self._state
        s.usage = s.usage + usage
        s.usage_by_phase[phase] = s.usage_by_phase.get(phase, Usage()) + usage
        if task is not None:
            task.usage = task.usage + usage

    def _budget_spent(self) -> str | None:
        return self._state.spec.budget.spent(self._state.usage) if self._metered else None

    async def _within_budget(self) -> None:
        """Before new model work: if the budget is spent, wait for `raise_budget`, or end the job.

        Raises:
            BudgetSpent: no raise came within the budget's `wait_for_raise`.
        """
        s = self._state
        before = s.phase

        def waiting(note: str | None) -> None:
            nonlocal before
            if note is not None:
                before, s.phase, s.budget_note = s.phase, "awaiting_budget", note
                self._count_phase()
            else:
                s.phase, s.budget_note = before, None

        await within_budget(self._budget_spent, lambda: s.spec.budget.wait_for_raise, waiting)

    def _count_phase(self) -> None:
        # workflow.metric_meter() records nothing while replaying, so a phase counts once.
        if self._metered:
            workflow.metric_meter().create_counter(names.JOB_PHASES_METRIC, "Jobs entering each phase.").add(
                1, {"phase": self._state.phase}
            )

    def _recurs(self) -> bool:
        r = self._state.spec.recurrence
        return r is not None and (r.max_runs is None or self._state.run_number < r.max_runs)

    async def _next_run(self) -> None:
        s = self._state
        recurrence = s.spec.recurrence
        assert recurrence is not None
        s.phase = "waiting_next_run"
        await workflow.sleep(recurrence.every, summary="next recurring run")
        self._events.detach()
        await workflow.wait_condition(workflow.all_handlers_finished)
        fresh = JobState(
            spec=s.spec,
            run_number=s.run_number + 1,
            previous_report_key=s.report.key if s.report else s.previous_report_key,
        )
        workflow.continue_as_new(
            JobInput(
                spec=s.spec, queues=self._input.queues, tuning=self._input.tuning, state=fresh,
                events=self._events.snapshot(),
            )
        )  # fmt: skip

    # --- updates, signals, queries -------------------------------------------

    @workflow.update(name=names.APPROVE_UPDATE)
    def approve(self, decision: Decision) -> JobProgress:
        self._decision = ("approve", decision)
        return self.progress()

    @approve.validator
    def _check_approve(self, decision: Decision) -> None:
        self._require_phase("approve", ("awaiting_approval",))

    @workflow.update(name=names.REJECT_UPDATE)
    def reject(self, decision: Decision) -> JobProgress:
        if self._state.phase == "publishing":
            self._saga.recall(decision.by)
        else:
            self._decision = ("reject", decision)
        return self.progress()

    @reject.validator
    def _check_reject(self, decision: Decision) -> None:
        self._require_phase("reject", ("awaiting_approval", "publishing"))

    @workflow.update(name=names.REVISE_UPDATE)
    def revise(self, decision: Decision) -> JobProgress:
        self._decision = ("revise", decision)
        return self.progress()

    @revise.validator
    def _check_revise(self, decision: Decision) -> None:
        self._require_phase("revise", ("awaiting_approval",))
        if not decision.notes.strip():
            raise ValueError("revise needs notes saying what to change")

    @workflow.signal(name=names.APPROVAL_SIGNAL)
    def approval_signal(self, sig: ApprovalSignal) -> None:
        # Signals cannot be refused; one outside the approval wait is ignored (and logged).
        if self._state.phase != "awaiting_approval" or self._decision is not None:
            workflow.logger.warning("approval signal ignored in phase %s", self._state.phase)
            return
        self._decision = (sig.action, Decision(by=sig.by, notes=sig.notes))

    @workflow.update(name=names.SWAP_GRAPH_UPDATE)
    def swap_graph(self, swap: SwapGraph) -> int:
        """Pin another graph for a kind; subtasks not yet started use it. Returns their count."""
        self._state.spec.graphs[swap.kind] = swap.graph
        waiting = [t for t in self._state.subtasks if t.ref.kind == swap.kind and t.status == "pending"]
        for t in waiting:
            t.graph = swap.graph
        return len(waiting)

    @swap_graph.validator
    def _check_swap(self, swap: SwapGraph) -> None:
        self._require_phase("swap a graph", _OPEN_PHASES)
        self._require_kind(swap.kind)

    @workflow.update(name=names.ADD_SUBTASK_UPDATE)
    def add_subtask(self, add: AddSubtask) -> SubtaskRef:
        s = self._state
        ref = SubtaskRef(id=f"user-{len(s.subtasks) + 1}", kind=add.kind, question=add.question)
        s.subtasks.append(SubtaskState(ref=ref, graph=s.spec.graphs[add.kind]))
        return ref

    @add_subtask.validator
    def _check_add(self, add: AddSubtask) -> None:
        self._require_phase("add a subtask", ("ingesting", "planning", "researching"))
        self._require_kind(add.kind)

    @workflow.update(name=names.ANSWER_UPDATE)
    async def answer(self, reply: AnswerRequest) -> JobProgress:
        """A person's answer to the question a subtask's graph is waiting on.

        It waits a little for the question: a worker that died right after its graph asked leaves
        the asking to the next worker's replay, which can deliver this update before it (updates
        are applied first in a workflow task).
        """
        try:
            await workflow.wait_condition(
                lambda: self._asking(reply.subtask_id) is not None,
                timeout=ANSWER_GRACE,
                timeout_summary="an answer waiting for its question",
            )
        except TimeoutError:
            problem = self._asking_problem(reply.subtask_id)
            raise ApplicationError(problem, type="InvalidInput", non_retryable=True) from None
        task = self._asking(reply.subtask_id)
        assert task is not None
        task.answer = reply.answer
        self._events.publish("question", subtask=task.ref.id, phase="answered", detail=f"by {reply.by}")
        return self.progress()

    @answer.validator
    def _check_answer(self, reply: AnswerRequest) -> None:
        self._require_phase("answer a question", ("researching", "validating"))
        if reply.subtask_id is not None and reply.subtask_id not in {t.ref.id for t in self._state.subtasks}:
            raise ValueError(f"this job has no subtask {reply.subtask_id!r}")
        if not any(t.status == "running" for t in self._state.subtasks):
            raise ValueError("no subtask is running, so none is waiting for an answer")

    def _asking(self, subtask_id: str | None) -> SubtaskState | None:
        asking = [t for t in self._state.subtasks if t.question is not None and t.answer is None]
        chosen = [t for t in asking if subtask_id in (None, t.ref.id)]
        return chosen[0] if len(chosen) == 1 else None

    def _asking_problem(self, subtask_id: str | None) -> str:
        asking = [t.ref.id for t in self._state.subtasks if t.question is not None and t.answer is None]
        if not asking:
            return "no subtask is waiting for an answer"
        if subtask_id is not None and subtask_id not in asking:
            return f"subtask {subtask_id!r} is not waiting for an answer (waiting: {asking})"
        return f"several subtasks are waiting ({asking}): say which with subtask_id"

    def _ask(self, task: SubtaskState, step: PendingStepRef) -> None:
        self._events.publish("question", subtask=task.ref.id, phase="asked", detail=step.prompt())

    @workflow.update(name=names.RAISE_BUDGET_UPDATE)
    def raise_budget(self, change: BudgetChange) -> JobProgress:
        """New limits; a job awaiting_budget resumes where it stopped."""
        self._state.spec.budget = change.applied_to(self._state.spec.budget)
        return self.progress()

    @raise_budget.validator
    def _check_raise(self, change: BudgetChange) -> None:
        if self._state.phase in FINAL_PHASES:
            raise ValueError(f"cannot raise the budget: the job is {self._state.phase}")
        problem = change.problem(self._state.usage)
        if problem:
            raise ValueError(problem)

    @workflow.query(name=names.PROGRESS_QUERY)
    def progress(self) -> JobProgress:
        s = self._state
        count = {k: sum(t.status == k for t in s.subtasks) for k in ("pending", "running", "done", "failed")}
        return JobProgress(
            job_id=self._job_id, phase=s.phase, run_number=s.run_number,
            subtasks=s.subtasks, report=s.report, approval=s.approval, error=s.error,
            continued=s.continued, usage=s.usage, usage_by_phase=s.usage_by_phase,
            budget=s.spec.budget, budget_note=s.budget_note, **count,
        )  # fmt: skip

    @workflow.query(name=names.SPEC_QUERY)
    def spec(self) -> JobSpec:
        return self._state.spec

    @workflow.query(name=names.DRAFT_QUERY)
    def draft(self) -> ReportRef | None:
        return self._state.report

    @workflow.query(name=names.STATE_QUERY)
    def state(self) -> JobState:
        return self._state

    # --- helpers ---------------------------------------------------------------

    @property
    def _job_id(self) -> str:
        return workflow.info().workflow_id

    def _graph_call(self, graph: str, recovery: Recovery = "restart") -> GraphCall:
        spec = self._state.spec
        return GraphCall(
            job_id=self._job_id, graph=graph, model=spec.model, recovery=recovery, collection=spec.collection
        )

    def _keys(self) -> list[str]:
        return [t.result.finding_key for t in self._state.subtasks if t.result and t.status == "done"]

    def _errors(self) -> list[str]:
        return [f"{t.ref.id}: {t.error}" for t in self._state.subtasks if t.error]

    def _require_phase(self, what: str, phases: tuple[str, ...]) -> None:
        phase = self._state.phase
        if phase not in phases:
            raise ValueError(f"cannot {what}: the job is {phase} (allowed while {', '.join(phases)})")

    def _require_kind(self, kind: str) -> None:
        if kind not in self._state.spec.graphs:
            known = ", ".join(sorted(self._state.spec.graphs))
            raise ValueError(f"unknown subtask kind '{kind}'; this job has: {known}")

    def _result(self) -> JobResult:
        s = self._state
        return JobResult(
            job_id=self._job_id, status=s.phase if s.phase in FINAL_PHASES else "completed",  # type: ignore[arg-type]
            report=s.report, published=s.published, compensated=s.compensated,
            subtasks=s.subtasks, runs=s.run_number, error=s.error,
            usage=s.usage, usage_by_phase=s.usage_by_phase, budget=s.spec.budget,
        )  # fmt: skip


class _JobFailed(Exception):
    """A failure of the job itself (not of one subtask): compensate, then fail the workflow."""
