"""BatchJobWorkflow: a graph over every document of a manifest, reduced into one report.

Shards (child workflows, at most `parallelism` at a time) analyse slices of the manifest;
a tree of reduce activities (no step receives more than R inputs) turns the results into
one analysis and a report; then approval and the research job's publish saga. History
holds the manifest's key, index ranges and counters, never the documents.

Behind the `batch-reduce-child` patch the tree runs in a `BatchReduce` child that continues
as new, and the parent continues as new (when the server suggests it) between retry rounds,
so its own history is bounded by the number of shards (at most MAX_SHARDS), not the corpus.
Before the patch the parent ran the tree itself: 4-5 events per step, documents / R steps.

Behind `batch-reduce-overlap` a first round without a budget starts that child with the
analysis: each finished shard's range is signalled to it, so the tree's first level (all but
~1/R of its steps) runs while later shards analyse instead of after the last one. A retry
requested during the analysis drops that child (the retry changes what it would reduce) and
reduces after the retry, as before.

This module keeps the lifecycle (rounds, approval, revise, publish) and the handlers; the analysis
is `batch_shards.ShardScheduler`'s, the round's reduce child `batch_reducer.ReduceChild`'s, and
the tree the parent ran before `batch-reduce-child` lives apart in `batch_reduce_legacy`, to be
retired with that patch.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from orchestration.shared import names
    from orchestration.shared.batch import (
        BATCH_FINAL,
        AnalysedRange,
        BatchInput,
        BatchPhase,
        BatchProgress,
        BatchResult,
        BatchState,
        BatchSwap,
        GraphCheck,
        ReduceResult,
        ShardControl,
        ShardState,
        results_collection,
    )
    from orchestration.shared.messages import Decision, JobState
    from orchestration.shared.spec import JobSpec
    from orchestration.shared.usage import BudgetChange, Usage
    from orchestration.workflows import patches
    from orchestration.workflows.budget_gate import BudgetSpent, within_budget
    from orchestration.workflows.options import ActivityOptions
    from orchestration.workflows.publish import PublishSaga

# The workflow's own helpers are imported as the workflow is, not passed through: they build the
# models this module's callers hand them, so both must see the same copy of orchestration.shared.
from orchestration.workflows.batch_reduce_legacy import ParentReduce
from orchestration.workflows.batch_reducer import ReduceChild
from orchestration.workflows.batch_shards import BatchFailed, ShardScheduler, plan_shards


@workflow.defn(name=names.BATCH_WORKFLOW)
class BatchJobWorkflow:
    @workflow.init
    def __init__(self, inp: BatchInput) -> None:
        self._in = inp
        self._spec = inp.spec
        self._s = inp.resume or BatchState(graph=inp.spec.graph)
        self._opts = ActivityOptions(inp.queues, inp.tuning)
        self._decision: tuple[str, Decision] | None = None
        # Its `budgeted` is set in run(): workflow.patched() may not be called from a query.
        self._shards = ShardScheduler(
            self._s, inp, usage=self._usage, within_budget=self._within_budget, on_analysed=self._shard_analysed
        )
        question = inp.spec.question or "Batch analysis"
        # The publish saga is the research job's, unchanged: it reads a JobState.
        self._publish = JobState(
            spec=JobSpec(
                question=question if len(question) >= 3 else "Batch analysis",
                collection=results_collection(workflow.info().workflow_id),
                approval=inp.spec.approval,
                publish=inp.spec.publish,
            )
        )
        self._saga = PublishSaga(self._publish, self._opts)
        self._reduce = ReduceChild(self._s, inp, self._publish, totals=self._totals_line, usage=self._usage)
        self._publish.report = self._s.report  # a run continued during the approval wait publishes it

    # --- lifecycle -------------------------------------------------------------

    @workflow.run
    async def run(self, inp: BatchInput) -> BatchResult:
        s = self._s
        # Asked once, before the first command: the answer holds for the whole run.
        self._history_bounded = workflow.patched(patches.BATCH_REDUCE_CHILD)
        if inp.resume is None:
            s.started_at = workflow.now()
            s.shards = plan_shards(inp.total, inp.spec.shard_size)
        # Only a batch with limits takes the budget path; batches without one run as they always did.
        self._shards.budgeted = inp.spec.budget.limited() and workflow.patched(patches.BATCH_BUDGET)
        try:
            await self._lifecycle()
        except BudgetSpent as spent:
            s.phase, s.budget_note = "budget_exceeded", None
            s.error = f"budget spent ({spent}); no raise_budget came within the wait; the results so far are kept"
        except asyncio.CancelledError:
            s.phase = "cancelled"
            await self._saga.compensate()
            raise
        except BatchFailed as failure:
            s.phase, s.error = "failed", str(failure)
            await self._saga.compensate()
            raise ApplicationError(str(failure), type="BatchFailed", non_retryable=True) from None
        return self._result()

    async def _lifecycle(self) -> None:
        s = self._s
        if self._in.resume is None:  # a continued run starts after the analysis
            if self._overlaps():
                await self._reduce.start_overlapped()
            await self._shards.analyse(s.shards, retry=False)
            s.analysed_at = workflow.now()
            if self._spec.task == "ingest":  # a corpus for a research job: indexed, nothing to reduce or publish
                if self._totals()["done"] == 0:
                    raise BatchFailed(f"no document could be indexed ({self._totals()['failed']} failed)")
                s.phase = "completed"
                return
        # A run continued during the approval wait goes on waiting; any other starts a round.
        waiting = self._in.resume is not None and s.phase == "awaiting_approval" and not s.retry_requested
        while True:
            if not waiting:
                if self._reduce.overlapping and s.retry_requested:
                    await self._reduce.drop()
                if not self._reduce.overlapping and self._should_continue():
                    await self._continue_as_new()
                if s.retry_requested:
                    await self._shards.retry_failed()
                if self._totals()["done"] == 0:
                    raise BatchFailed(f"every document failed ({self._totals()['failed']}); see `status {self._job}`")
                await self._within_budget("reducing")
                s.phase = "reducing"
                if self._reduce.overlapping:
                    await self._reduce.finish()
                else:
                    await self._reduce_tree()
                s.phase = "awaiting_approval"
            waiting = False
            await self._await_approval()
            if not s.retry_requested:
                break
        if s.phase == "publishing":
            outcome = await self._saga.run()
            s.published = [p.step for p in self._publish.published]
            s.compensated = list(self._publish.compensated)
            if outcome == "failed":
                raise BatchFailed(f"publish failed and was compensated: {self._publish.error}")
            s.phase = "completed"

    async def _within_budget(self, phase: BatchPhase) -> None:
        """Before new model work: if the budget is spent, wait for `raise_budget`, or end the batch.

        Raises:
            BudgetSpent: no raise came within the budget's `wait_for_raise`.
        """
        s = self._s

        def waiting(note: str | None) -> None:
            # Shards wait side by side: each restores the phase it was given, the same for all.
            s.phase, s.budget_note = ("awaiting_budget", note) if note is not None else (phase, None)

        await within_budget(self._shards.budget_spent, lambda: self._spec.budget.wait_for_raise, waiting)

    async def _shard_analysed(self, shard: ShardState) -> None:
        """A first pass's shard is analysed: an overlapped reduce tree may reduce its range now."""
        if self._reduce.overlapping:
            await self._reduce.signal(names.ANALYSED_SIGNAL, AnalysedRange(start=shard.start, end=shard.end))

    def _overlaps(self) -> bool:
        """Whether this first round's tree starts with the analysis (asked once, before the first shard).

        Not for a budget (a shard may stop part way and its share decides what runs next), nor
        for ingest (nothing to reduce), nor before the reduce child existed."""
        spec = self._spec
        return (
            self._history_bounded
            and not self._shards.budgeted
            and spec.task != "ingest"
            and workflow.patched(patches.BATCH_REDUCE_OVERLAP)
        )

    def _totals_line(self) -> dict[str, int]:
        return self._totals() | {"total": self._in.total, "fanin": self._spec.reduce_fanin}

    async def _continue_as_new(self) -> None:
        """Between rounds (no child running, no decision pending): carry the state, drop the history."""
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(self._in.model_copy(update={"resume": self._s}))

    async def _reduce_tree(self) -> None:
        """This round's tree after the analysis: in a child, or (histories from before the patch) here."""
        await (self._reduce.run() if self._history_bounded else self._reduce_in_parent())

    async def _reduce_in_parent(self) -> None:
        """Before `batch-reduce-child` (histories recorded then replay it): the parent runs the tree."""
        tree = ParentReduce(self._s, self._in, self._opts, totals=self._totals_line, usage=self._usage)
        self._s.report = self._publish.report = await tree.run()

    async def _await_approval(self) -> None:
        s, policy = self._s, self._spec.approval
        if not policy.required:
            s.approval, s.phase = "auto", "publishing"
            return
        while True:  # once, unless a reviewer revises: then the report is re-reduced and waited for again
            s.approval = "pending"
            try:
                await workflow.wait_condition(
                    lambda: self._decision is not None or s.retry_requested or self._should_continue(),
                    timeout=self._approval_timeout(),
                    timeout_summary="approval deadline",
                )
            except TimeoutError:
                approve = policy.on_timeout == "approve"
                s.approval, s.decided_by, s.approval_deadline = "timed_out", "deadline", None
                s.phase = "publishing" if approve else "rejected"
                return
            if self._decision is None:
                if not s.retry_requested:  # revisions and updates made the history long: wait on in a new run
                    await self._continue_as_new()
                s.approval_deadline = None
                return  # retry-failed: the caller re-runs failed documents and reduces again
            action, decision = self._decision
            self._decision = None
            s.decided_by, s.approval_deadline = decision.by, None
            if action == "revise":
                await self._revise(decision)
                continue
            s.approval, s.phase = ("approved", "publishing") if action == "approve" else ("rejected", "rejected")
            return

    def _approval_timeout(self) -> timedelta:
        """The whole deadline before the patch; after it, what is left of it (a continued run keeps it)."""
        s, deadline = self._s, self._spec.approval.deadline
        if not self._history_bounded:
            return max(deadline, timedelta(seconds=1))
        if s.approval_deadline is None:
            s.approval_deadline = workflow.now() + deadline
        return max(s.approval_deadline - workflow.now(), timedelta(seconds=1))

    def _should_continue(self) -> bool:
        return self._history_bounded and workflow.info().is_continue_as_new_suggested()

    async def _revise(self, decision: Decision) -> None:
        """The research job's revise, for a batch: the final reduce step again, with the reviewer's notes.

        Its inputs (the level below, or a range of documents) are unchanged, so only that step runs.
        """
        s = self._s
        assert s.final_reduce is not None, "the revise validator refuses a batch without a final step"
        await self._within_budget("reducing")  # new model work, as any reduce step
        s.revisions.append(decision.notes)
        s.phase, s.approval = "reducing", "revising"
        # The footer's spending: everything before this step (the first final step's included).
        so_far = self._usage() if s.final_reduce.usage_so_far is not None else None
        again = s.final_reduce.model_copy(
            update={"notes": decision.notes, "revision": len(s.revisions), "usage_so_far": so_far}
        )
        result = await workflow.execute_activity(
            names.BATCH_REDUCE,
            again,
            result_type=ReduceResult,
            summary=f"revise the report (revision {len(s.revisions)})",
            **self._opts.reasoning().kwargs(),
        )
        s.reduce_usage += result.usage
        s.report = self._publish.report = result.report
        s.phase = "awaiting_approval"

    # --- updates and queries ---------------------------------------------------

    @workflow.update(name=names.PAUSE_UPDATE)
    async def pause(self) -> BatchProgress:
        self._s.paused = True
        await self._tell_shards(ShardControl(paused=True))
        return self.progress()

    @pause.validator
    def _check_pause(self) -> None:
        self._require_phase("pause", ("analysing",))
        if self._s.paused:
            raise ValueError("the batch is already paused; `batch resume` continues it")

    @workflow.update(name=names.RESUME_UPDATE)
    async def resume(self) -> BatchProgress:
        self._s.paused = False
        await self._tell_shards(ShardControl(paused=False))
        return self.progress()

    @resume.validator
    def _check_resume(self) -> None:
        if not self._s.paused:
            raise ValueError(f"the batch is not paused (it is {self._s.phase}); nothing to resume")

    @workflow.update(name=names.RETRY_FAILED_UPDATE)
    def retry_failed(self) -> int:
        """Re-run failed documents once the running shards finish (or now, during the approval wait)."""
        self._s.retry_requested = True
        return self._totals()["failed"]

    @retry_failed.validator
    def _check_retry(self) -> None:
        self._require_phase("retry failed documents", ("analysing", "awaiting_approval"))
        if self._s.retry_requested:
            raise ValueError("a retry of the failed documents is already requested")
        if self._totals()["failed"] == 0:
            raise ValueError("no document has failed (in finished shards); nothing to retry")

    @workflow.update(name=names.SWAP_GRAPH_UPDATE)
    async def swap_graph(self, swap: BatchSwap) -> int:
        """Analyse documents not yet started with another graph; returns how many are in unstarted shards.

        Any client may send it, not only the CLI that checked the graph: the graph is checked first
        where it will run (the workers' registry), and an unknown or unfit graph fails the update
        with the check's reason and changes nothing.
        """
        if workflow.patched(patches.BATCH_SWAP_CHECK):
            await self._check_graph(swap.graph)
            if self._s.phase != "analysing":  # the analysis ended while the graph was checked
                raise ApplicationError(
                    f"cannot swap the graph: the batch is {self._s.phase} now", type="InvalidInput", non_retryable=True
                )
        self._s.graph = swap.graph
        self._s.swaps.append(swap.graph)
        await self._tell_shards(ShardControl(graph=swap.graph))
        return sum(sh.end - sh.start for sh in self._s.shards if sh.status == "pending")

    @swap_graph.validator
    def _check_swap(self, swap: BatchSwap) -> None:
        self._require_phase("swap the graph", ("analysing",))

    @workflow.update(name=names.RAISE_BUDGET_UPDATE)
    def raise_budget(self, change: BudgetChange) -> BatchProgress:
        """New limits; a batch awaiting_budget goes on where it stopped."""
        self._spec.budget = change.applied_to(self._spec.budget)
        return self.progress()

    @raise_budget.validator
    def _check_raise(self, change: BudgetChange) -> None:
        if self._s.phase in BATCH_FINAL:
            raise ValueError(f"cannot raise the budget: the batch is {self._s.phase}")
        problem = change.problem(self._usage())
        if problem:
            raise ValueError(problem)

    async def _check_graph(self, graph: str) -> None:
        try:
            await workflow.execute_activity(
                names.BATCH_CHECK_GRAPH,
                GraphCheck(graph=graph, step="document"),
                result_type=str,
                summary=f"check graph {graph}",
                **self._opts.reasoning().kwargs(),
            )
        except ActivityError as err:
            cause = err.cause
            reason = cause.message if isinstance(cause, ApplicationError) else str(cause or err)
            raise ApplicationError(f"cannot swap to {graph}: {reason}", type="UnfitGraph", non_retryable=True) from None

    @workflow.update(name=names.APPROVE_UPDATE)
    def approve(self, decision: Decision) -> BatchProgress:
        self._decision = ("approve", decision)
        return self.progress()

    @approve.validator
    def _check_approve(self, decision: Decision) -> None:
        self._require_phase("approve", ("awaiting_approval",))

    @workflow.update(name=names.REVISE_UPDATE)
    def revise(self, decision: Decision) -> BatchProgress:
        self._decision = ("revise", decision)
        return self.progress()

    @revise.validator
    def _check_revise(self, decision: Decision) -> None:
        self._require_phase("revise", ("awaiting_approval",))
        if not decision.notes.strip():
            raise ValueError("revise needs notes saying what to change")
        if self._s.final_reduce is None:  # reduced before the batch-reduce-child patch: no step to re-run
            raise ValueError("this batch was reduced before batches could be revised; approve or reject it")

    @workflow.update(name=names.REJECT_UPDATE)
    def reject(self, decision: Decision) -> BatchProgress:
        self._decision = ("reject", decision)
        return self.progress()

    @reject.validator
    def _check_reject(self, decision: Decision) -> None:
        self._require_phase("reject", ("awaiting_approval",))

    @workflow.query(name=names.PROGRESS_QUERY)
    def progress(self) -> BatchProgress:
        s, totals = self._s, self._totals()
        return BatchProgress(
            job_id=self._job, phase=s.phase, paused=s.paused, graph=s.graph, total=self._in.total,
            done=totals["done"], failed=totals["failed"], reused=totals["reused"],
            running_shards=len(self._shards.running), running_ids=list(self._shards.running), shards=s.shards,
            started_at=s.started_at, analysed_at=s.analysed_at,
            report=s.report, approval=s.approval, retry_round=s.retry_round, error=s.error, usage=self._usage(),
            budget=self._spec.budget, budget_note=s.budget_note, reducer_id=self._reduce.id,
        )  # fmt: skip

    @workflow.query(name=names.STATE_QUERY)
    def state(self) -> BatchState:
        return self._s

    # --- helpers ---------------------------------------------------------------

    @property
    def _job(self) -> str:
        return workflow.info().workflow_id

    async def _tell_shards(self, change: ShardControl) -> None:
        await self._shards.tell(change)
        if self._reduce.overlapping and change.paused is not None:  # its steps wait while the batch is paused
            await self._reduce.signal(names.CONTROL_SIGNAL, ShardControl(paused=change.paused))

    def _totals(self) -> dict[str, int]:
        shards = self._s.shards
        return {k: sum(getattr(sh, k) for sh in shards) for k in ("done", "failed", "reused")}

    def _chunks(self) -> int:
        return sum(sh.chunks for sh in self._s.shards)

    def _usage(self) -> Usage:
        """Spent by finished shard runs and reduce steps (running shards report theirs by query)."""
        return sum((sh.usage for sh in self._s.shards), self._s.reduce_usage)

    def _require_phase(self, what: str, phases: tuple[str, ...]) -> None:
        phase = self._s.phase
        if phase not in phases:
            raise ValueError(f"cannot {what}: the batch is {phase} (allowed while {', '.join(phases)})")

    def _result(self) -> BatchResult:
        s = self._s
        status = s.phase if s.phase in ("completed", "rejected", "budget_exceeded") else "completed"
        return BatchResult(
            job_id=self._job, status=status, total=self._in.total, report=s.report, published=s.published,
            compensated=s.compensated, error=s.error, chunks=self._chunks(), usage=self._usage(), **self._totals(),
        )  # fmt: skip
