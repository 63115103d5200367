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
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError, ChildWorkflowError

with workflow.unsafe.imports_passed_through():
    from orchestration.shared import names
    from orchestration.shared.batch import (
        BATCH_FINAL,
        MAX_SHARDS,
        AnalysedRange,
        AnalysisDone,
        BatchInput,
        BatchPhase,
        BatchProgress,
        BatchResult,
        BatchState,
        BatchSwap,
        GraphCheck,
        ReduceInput,
        ReduceOutcome,
        ReduceRequest,
        ReduceResult,
        ShardControl,
        ShardInput,
        ShardProgress,
        ShardState,
        results_collection,
    )
    from orchestration.shared.messages import Decision, JobState
    from orchestration.shared.spec import JobSpec
    from orchestration.shared.usage import Budget, BudgetChange, Usage
    from orchestration.workflows import patches
    from orchestration.workflows.budget_gate import BudgetSpent, within_budget
    from orchestration.workflows.options import ActivityOptions
    from orchestration.workflows.publish import PublishSaga

_T = TypeVar("_T")


@workflow.defn(name=names.BATCH_WORKFLOW)
class BatchJobWorkflow:
    @workflow.init
    def __init__(self, inp: BatchInput) -> None:
        self._in = inp
        self._spec = inp.spec
        self._s = inp.resume or BatchState(graph=inp.spec.graph)
        self._opts = ActivityOptions(inp.queues, inp.tuning)
        self._decision: tuple[str, Decision] | None = None
        self._running: list[str] = []  # ids of shard children running now
        self._granted: dict[int, Budget] = {}  # budget shares of the shards running now
        self._budgeted = False  # set in run(): workflow.patched() may not be called from a query
        self._reducer: workflow.ChildWorkflowHandle[Any, ReduceOutcome] | None = None  # overlapped with the analysis
        self._reducer_id: str | None = None  # the running reduce child, for the progress query
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
        self._publish.report = self._s.report  # a run continued during the approval wait publishes it

    # --- lifecycle -------------------------------------------------------------

    @workflow.run
    async def run(self, inp: BatchInput) -> BatchResult:
        s = self._s
        # Asked once, before the first command: the answer holds for the whole run.
        self._history_bounded = workflow.patched(patches.BATCH_REDUCE_CHILD)
        if inp.resume is None:
            s.started_at = workflow.now()
            s.shards = _plan_shards(inp.total, inp.spec.shard_size)
        # Only a batch with limits takes the budget path; batches without one run as they always did.
        self._budgeted = inp.spec.budget.limited() and workflow.patched(patches.BATCH_BUDGET)
        try:
            await self._lifecycle()
        except BudgetSpent as spent:
            s.phase, s.budget_note = "budget_exceeded", None
            s.error = f"budget spent ({spent}); no raise_budget came within the wait; the results so far are kept"
        except asyncio.CancelledError:
            s.phase = "cancelled"
            await self._saga.compensate()
            raise
        except _BatchFailed as failure:
            s.phase, s.error = "failed", str(failure)
            await self._saga.compensate()
            raise ApplicationError(str(failure), type="BatchFailed", non_retryable=True) from None
        return self._result()

    async def _lifecycle(self) -> None:
        s = self._s
        if self._in.resume is None:  # a continued run starts after the analysis
            if self._overlaps():
                self._reducer = await self._start_reducer(overlapped=True)
            await self._analyse(s.shards, retry=False)
            s.analysed_at = workflow.now()
            if self._spec.task == "ingest":  # a corpus for a research job: indexed, nothing to reduce or publish
                if self._totals()["done"] == 0:
                    raise _BatchFailed(f"no document could be indexed ({self._totals()['failed']} failed)")
                s.phase = "completed"
                return
        # A run continued during the approval wait goes on waiting; any other starts a round.
        waiting = self._in.resume is not None and s.phase == "awaiting_approval" and not s.retry_requested
        while True:
            if not waiting:
                if self._reducer is not None and s.retry_requested:
                    await self._drop_reducer()
                if self._reducer is None and self._should_continue():
                    await self._continue_as_new()
                if s.retry_requested:
                    await self._retry_failed()
                if self._totals()["done"] == 0:
                    raise _BatchFailed(f"every document failed ({self._totals()['failed']}); see `status {self._job}`")
                await self._within_budget("reducing")
                s.phase = "reducing"
                if self._reducer is not None:
                    await self._finish_reducer()
                else:
                    await (self._reduce_in_child() if self._history_bounded else self._reduce())
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
                raise _BatchFailed(f"publish failed and was compensated: {self._publish.error}")
            s.phase = "completed"

    async def _analyse(self, shards: list[ShardState], *, retry: bool) -> None:
        s = self._s
        s.phase = "analysing"
        gate = asyncio.Semaphore(self._spec.parallelism)

        async def one(shard: ShardState) -> None:
            async with gate:
                await workflow.wait_condition(lambda: not s.paused)
                if self._budgeted:
                    await self._run_budgeted(shard, retry)
                else:
                    await self._run_shard(shard, retry)
            if self._reducer is not None and not retry:  # outside the gate: the next shard starts meanwhile
                await self._signal_reducer(names.ANALYSED_SIGNAL, AnalysedRange(start=shard.start, end=shard.end))

        await asyncio.gather(*(one(shard) for shard in shards))

    async def _run_budgeted(self, shard: ShardState, retry: bool) -> None:
        # A run stopped by its share of the budget leaves a cursor; the next run, with a
        # new share once there is one, goes on from it. Retry passes only wait for budget.
        while shard.status != "done":
            await self._within_budget("analysing")
            share = None if retry else await self._share()
            if share is None and not retry:
                continue  # spent meanwhile: wait for a raise
            if share is not None:
                self._granted[shard.index] = share
            try:
                await self._run_shard(shard, retry, share)
            finally:
                self._granted.pop(shard.index, None)

    async def _share(self) -> Budget | None:
        """This shard's share of what is neither spent nor granted; waits while all is granted."""
        budget = self._spec.budget

        def share() -> Budget | None:
            free = max(1, self._spec.parallelism - len(self._granted))
            return budget.allowance(self._usage(), list(self._granted.values()), free)

        await workflow.wait_condition(lambda: share() is not None or self._budget_spent() is not None)
        return share()

    def _budget_spent(self) -> str | None:
        return self._spec.budget.spent(self._usage()) if self._budgeted else None

    async def _within_budget(self, phase: BatchPhase) -> None:
        """Before new model work: if the budget is spent, wait for `raise_budget`, or end the batch.

        Raises:
            BudgetSpent: no raise came within the budget's `wait_for_raise`.
        """
        s = self._s

        def waiting(note: str | None) -> None:
            # Shards wait side by side: each restores the phase it was given, the same for all.
            s.phase, s.budget_note = ("awaiting_budget", note) if note is not None else (phase, None)

        await within_budget(self._budget_spent, lambda: self._spec.budget.wait_for_raise, waiting)

    async def _run_shard(self, shard: ShardState, retry: bool, share: Budget | None = None) -> None:
        s, spec = self._s, self._spec
        child = f"{self._job}/shard-{shard.index}" + (f"/retry-{s.retry_round}" if retry else "")
        child += f"/part-{shard.parts}" if shard.parts and not retry else ""
        cursor = shard.start if retry or shard.cursor is None else shard.cursor
        shard.status, shard.runs = "running", shard.runs + 1
        self._running.append(child)
        try:
            out = await self._child(f"shard {shard.index}", lambda: workflow.execute_child_workflow(
                names.SHARD_WORKFLOW,
                ShardInput(
                    job_id=self._job, index=shard.index, manifest_key=self._in.manifest_key, start=shard.start,
                    end=shard.end, cursor=cursor, graph=s.graph, model=spec.model, question=spec.question,
                    micro_batch=spec.micro_batch, window=spec.window, continue_every=spec.continue_every,
                    doc_attempts=spec.doc_attempts,
                    reuse_job=spec.reuse_job, retry=retry, paused=s.paused, task=spec.task, collection=spec.collection,
                    queues=self._in.queues, allowance=share,
                    tuning=self._in.tuning,
                ),
                id=child,
                task_queue=self._in.queues.workflows,
                result_type=ShardProgress,
                # A batch that ends (cancelled, failed) while a shard still runs cancels it, never
                # terminates it: its in-flight micro-batch stops at a heartbeat and what it recorded stays.
                parent_close_policy=workflow.ParentClosePolicy.REQUEST_CANCEL,
                static_summary=f"documents {shard.start}-{shard.end - 1}",
            ))  # fmt: skip
        finally:
            self._running.remove(child)
        c = out.counters
        # Counts add up: from zero on a first run, past the cursor after a budget stop; a retry
        # pass counts only what it changed, so its failures replace the slice's.
        shard.done, shard.reused, shard.chunks = shard.done + c.done, shard.reused + c.reused, shard.chunks + c.chunks
        shard.failed = c.failed if retry else shard.failed + c.failed
        shard.usage += c.usage
        if retry or out.cursor >= shard.end:
            shard.status = "done"
        else:
            shard.status, shard.cursor, shard.parts = "pending", out.cursor, shard.parts + 1

    async def _retry_failed(self) -> None:
        s = self._s
        s.retry_requested = False
        s.retry_round += 1
        await self._analyse([sh for sh in s.shards if sh.failed > 0], retry=True)

    @staticmethod
    async def _child(what: str, start: Callable[[], Awaitable[_T]]) -> _T:
        """Run a child workflow; its failure fails the batch, its cancellation is the batch's own."""
        try:
            return await start()
        except ChildWorkflowError as err:
            if isinstance(err.cause, CancelledError):  # the batch itself is being cancelled
                raise asyncio.CancelledError() from err
            raise _BatchFailed(f"{what} failed: {err.cause or err}") from None

    def _overlaps(self) -> bool:
        """Whether this first round's tree starts with the analysis (asked once, before the first shard).

        Not for a budget (a shard may stop part way and its share decides what runs next), nor
        for ingest (nothing to reduce), nor before the reduce child existed."""
        spec = self._spec
        return (
            self._history_bounded
            and not self._budgeted
            and spec.task != "ingest"
            and workflow.patched(patches.BATCH_REDUCE_OVERLAP)
        )

    async def _reduce_in_child(self) -> None:
        """The reduce tree as a `BatchReduce` child: its runs hold the steps, this history one child."""
        reducer = await self._start_reducer(overlapped=False)
        try:
            self._reduced(await self._child("the reduction", lambda: reducer))
        finally:
            self._reducer_id = None

    async def _start_reducer(self, *, overlapped: bool) -> workflow.ChildWorkflowHandle[Any, ReduceOutcome]:
        """Start the round's `BatchReduce` child; an overlapped one learns the totals at the end (`_finish_reducer`)."""
        s, spec = self._s, self._spec
        known: dict[str, Any] = {}
        if not overlapped:
            known = {"source_graph": s.graph, "usage_so_far": self._usage(), "totals": self._totals_line()}
        handle = await workflow.start_child_workflow(
            names.REDUCE_WORKFLOW,
            ReduceInput(
                job_id=self._job, graph=spec.reduce_graph, model=spec.model, question=spec.question,
                round=s.retry_round, total=self._in.total, fanin=spec.reduce_fanin, parallelism=spec.parallelism,
                continue_every=spec.continue_every, queues=self._in.queues, tuning=self._in.tuning,
                overlapped=overlapped, paused=s.paused, **known,
            ),
            id=f"{self._job}/reduce-{s.retry_round}",
            task_queue=self._in.queues.workflows,
            result_type=ReduceOutcome,
            parent_close_policy=workflow.ParentClosePolicy.REQUEST_CANCEL,
            static_summary=f"reduce round {s.retry_round}: at most {spec.reduce_fanin} inputs per step",
        )  # fmt: skip
        self._reducer_id = handle.id
        return handle

    async def _finish_reducer(self) -> None:
        """The analysis ended: tell the overlapped child what its final step states, then wait for the report."""
        s, reducer = self._s, self._reducer
        assert reducer is not None
        done = AnalysisDone(totals=self._totals_line(), source_graph=s.graph, usage_so_far=self._usage())
        await self._signal_reducer(names.ANALYSIS_DONE_SIGNAL, done)
        try:
            self._reduced(await self._child("the reduction", lambda: reducer))
        finally:
            self._reducer, self._reducer_id = None, None

    async def _drop_reducer(self) -> None:
        """A retry was asked for during the analysis: the overlapped tree reduced results the retry
        changes, so it is cancelled (its reductions are round 0's artifacts) and a new one reduces after."""
        reducer, self._reducer, self._reducer_id = self._reducer, None, None
        assert reducer is not None
        reducer.cancel()
        try:
            await reducer
        except ChildWorkflowError as err:
            workflow.logger.info("reduce child dropped for the retry: %s", err.cause or err)

    async def _signal_reducer(self, name: str, arg: Any) -> None:
        assert self._reducer is not None
        try:
            await self._reducer.signal(name, arg)
        except Exception as err:  # it failed already: awaiting it says why
            workflow.logger.info("reduce child not signalled: %s", err)

    def _totals_line(self) -> dict[str, int]:
        return self._totals() | {"total": self._in.total, "fanin": self._spec.reduce_fanin}

    def _reduced(self, out: ReduceOutcome) -> None:
        s = self._s
        s.reductions += out.reductions
        s.reduce_usage += out.usage
        s.final_reduce = out.final
        s.report = self._publish.report = out.report

    async def _continue_as_new(self) -> None:
        """Between rounds (no child running, no decision pending): carry the state, drop the history."""
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(self._in.model_copy(update={"resume": self._s}))

    async def _reduce(self) -> None:
        """Before the patch (histories recorded then replay it): the parent runs the tree itself.

        A tree: level 0 reduces manifest ranges of R documents, each later level R reductions."""
        s, spec, total = self._s, self._spec, self._in.total
        fanin = spec.reduce_fanin
        ranges = [(a, min(a + fanin, total)) for a in range(0, total, fanin)]
        requests = [self._reduce_request(0, g, len(ranges) == 1, start=a, end=b) for g, (a, b) in enumerate(ranges)]
        level = 0
        while True:
            results = await self._bounded([self._reduce_step(r) for r in requests])
            s.reductions += len(requests)
            for result in results:
                s.reduce_usage += result.usage
            keys = [r.key for r in results if r.key]
            if requests[0].final:
                s.report = self._publish.report = results[0].report
                if s.report is None:
                    raise _BatchFailed("the reduction produced no report (no document was analysed)")
                return
            if not keys:
                raise _BatchFailed("no document was analysed; nothing to reduce")
            level += 1
            groups = [keys[i : i + fanin] for i in range(0, len(keys), fanin)]
            requests = [self._reduce_request(level, g, len(groups) == 1, keys=k) for g, k in enumerate(groups)]

    def _reduce_request(self, level: int, group: int, final: bool, **where: Any) -> ReduceRequest:
        spec = self._spec
        totals = self._totals() | {"total": self._in.total, "fanin": spec.reduce_fanin}
        # The report's footer says what the batch spent; histories from before it have no such input.
        so_far = self._usage() if final and workflow.patched(patches.BATCH_USAGE_FOOTER) else None
        return ReduceRequest(
            job_id=self._job, graph=spec.reduce_graph, model=spec.model, question=spec.question,
            round=self._s.retry_round, level=level, group=group, final=final, totals=totals,
            source_graph=self._s.graph, usage_so_far=so_far, **where,
        )  # fmt: skip

    def _reduce_step(self, req: ReduceRequest) -> Callable[[], Awaitable[ReduceResult]]:
        return lambda: workflow.execute_activity(
            names.BATCH_REDUCE,
            req,
            result_type=ReduceResult,
            summary=f"reduce level {req.level} group {req.group}",
            **self._opts.reasoning().kwargs(),
        )

    async def _bounded(self, steps: list[Callable[[], Awaitable[_T]]]) -> list[_T]:
        gate = asyncio.Semaphore(self._spec.parallelism)

        async def one(step: Callable[[], Awaitable[_T]]) -> _T:
            async with gate:
                return await step()

        return list(await asyncio.gather(*(one(step) for step in steps)))

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
            running_shards=len(self._running), running_ids=list(self._running), shards=s.shards,
            started_at=s.started_at, analysed_at=s.analysed_at,
            report=s.report, approval=s.approval, retry_round=s.retry_round, error=s.error, usage=self._usage(),
            budget=self._spec.budget, budget_note=s.budget_note, reducer_id=self._reducer_id,
        )  # fmt: skip

    @workflow.query(name=names.STATE_QUERY)
    def state(self) -> BatchState:
        return self._s

    # --- helpers ---------------------------------------------------------------

    @property
    def _job(self) -> str:
        return workflow.info().workflow_id

    async def _tell_shards(self, change: ShardControl) -> None:
        for child in list(self._running):
            try:
                await workflow.get_external_workflow_handle(child).signal(names.CONTROL_SIGNAL, change)
            except Exception as err:  # the shard finished meanwhile: nothing to tell it
                workflow.logger.info("shard %s not signalled: %s", child, err)
        if self._reducer is not None and change.paused is not None:  # its steps wait while the batch is paused
            await self._signal_reducer(names.CONTROL_SIGNAL, ShardControl(paused=change.paused))

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


def _plan_shards(total: int, shard_size: int) -> list[ShardState]:
    """Slices of at least `shard_size` documents, at most MAX_SHARDS of them."""
    size = max(shard_size, -(-total // MAX_SHARDS))
    return [ShardState(index=i, start=a, end=min(a + size, total)) for i, a in enumerate(range(0, total, size))]


class _BatchFailed(Exception):
    """A failure of the batch itself (not of one document): compensate, then fail the workflow."""
