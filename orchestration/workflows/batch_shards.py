"""The batch's analysis: shard children over slices of the manifest, at most `parallelism` at a
time, each with a fair share of the budget when the batch has one.

Shaped like `PublishSaga`: the batch workflow owns the state and the lifecycle, this helper
owns how shards are started, counted and told things (pause, resume, a swapped graph). It is
workflow code (sandboxed, deterministic): children, signals and conditions on the batch's state.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from temporalio import workflow
from temporalio.exceptions import CancelledError, ChildWorkflowError

with workflow.unsafe.imports_passed_through():
    from orchestration.shared import names
    from orchestration.shared.batch import (
        MAX_SHARDS,
        BatchInput,
        BatchPhase,
        BatchState,
        ShardControl,
        ShardInput,
        ShardProgress,
        ShardState,
    )
    from orchestration.shared.usage import Budget, Usage

_T = TypeVar("_T")


class BatchFailed(Exception):
    """A failure of the batch itself (not of one document): compensate, then fail the workflow."""


async def run_child(what: str, start: Callable[[], Awaitable[_T]]) -> _T:
    """Run a child workflow; its failure fails the batch, its cancellation is the batch's own."""
    try:
        return await start()
    except ChildWorkflowError as err:
        if isinstance(err.cause, CancelledError):  # the batch itself is being cancelled
            raise asyncio.CancelledError() from err
        raise BatchFailed(f"{what} failed: {err.cause or err}") from None


def plan_shards(total: int, shard_size: int) -> list[ShardState]:
    """Slices of at least `shard_size` documents, at most MAX_SHARDS of them."""
    size = max(shard_size, -(-total // MAX_SHARDS))
    return [ShardState(index=i, start=a, end=min(a + size, total)) for i, a in enumerate(range(0, total, size))]


class ShardScheduler:
    """Runs the batch's shards and keeps their counts in the batch's state.

    Args:
        state: the batch's state; its shards are counted in place.
        inp: the batch's input (spec, manifest, queues, tuning).
        usage: what the batch has spent so far (finished shard runs and reduce steps).
        within_budget: the batch's budget gate for a phase (waits for a raise, or ends the batch).
        on_analysed: told each shard of a first pass once it is analysed (the overlapped reduce).

    Attributes:
        budgeted: whether shards run with budget shares (set once the workflow asked its patch).
        running: ids of the shard children running now (for the progress query).
    """

    def __init__(
        self,
        state: BatchState,
        inp: BatchInput,
        *,
        usage: Callable[[], Usage],
        within_budget: Callable[[BatchPhase], Awaitable[None]],
        on_analysed: Callable[[ShardState], Awaitable[None]],
    ) -> None:
        self._s, self._in, self._spec = state, inp, inp.spec
        self._usage, self._within_budget, self._on_analysed = usage, within_budget, on_analysed
        self.budgeted = False
        self.running: list[str] = []
        self._granted: dict[int, Budget] = {}  # budget shares of the shards running now

    async def analyse(self, shards: list[ShardState], *, retry: bool) -> None:
        """Run `shards` (a first pass, or a retry pass over their failed documents) to their end."""
        s = self._s
        s.phase = "analysing"
        gate = asyncio.Semaphore(self._spec.parallelism)

        async def one(shard: ShardState) -> None:
            async with gate:
                await workflow.wait_condition(lambda: not s.paused)
                if self.budgeted:
                    await self._run_budgeted(shard, retry)
                else:
                    await self._run_shard(shard, retry)
            if not retry:  # outside the gate: the next shard starts meanwhile
                await self._on_analysed(shard)

        await asyncio.gather(*(one(shard) for shard in shards))

    async def retry_failed(self) -> None:
        """A retry pass over the shards that have failed documents (a new retry round)."""
        s = self._s
        s.retry_requested = False
        s.retry_round += 1
        await self.analyse([sh for sh in s.shards if sh.failed > 0], retry=True)

    def budget_spent(self) -> str | None:
        """Which limit the batch's spending has reached, or None (always None without a budget)."""
        return self._spec.budget.spent(self._usage()) if self.budgeted else None

    async def tell(self, change: ShardControl) -> None:
        """Signal every running shard (pause, resume, a swapped graph); a finished one is skipped."""
        for child in list(self.running):
            try:
                await workflow.get_external_workflow_handle(child).signal(names.CONTROL_SIGNAL, change)
            except Exception as err:  # the shard finished meanwhile: nothing to tell it
                workflow.logger.info("shard %s not signalled: %s", child, err)

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

        await workflow.wait_condition(lambda: share() is not None or self.budget_spent() is not None)
        return share()

    async def _run_shard(self, shard: ShardState, retry: bool, share: Budget | None = None) -> None:
        s, spec, inp = self._s, self._spec, self._in
        job = workflow.info().workflow_id
        child = f"{job}/shard-{shard.index}" + (f"/retry-{s.retry_round}" if retry else "")
        child += f"/part-{shard.parts}" if shard.parts and not retry else ""
        cursor = shard.start if retry or shard.cursor is None else shard.cursor
        shard.status, shard.runs = "running", shard.runs + 1
        self.running.append(child)
        try:
            out = await run_child(f"shard {shard.index}", lambda: workflow.execute_child_workflow(
                names.SHARD_WORKFLOW,
                ShardInput(
                    job_id=job, index=shard.index, manifest_key=inp.manifest_key, start=shard.start,
                    end=shard.end, cursor=cursor, graph=s.graph, model=spec.model, question=spec.question,
                    micro_batch=spec.micro_batch, window=spec.window, continue_every=spec.continue_every,
                    doc_attempts=spec.doc_attempts,
                    reuse_job=spec.reuse_job, retry=retry, paused=s.paused, task=spec.task, collection=spec.collection,
                    queues=inp.queues, allowance=share,
                    tuning=inp.tuning,
                ),
                id=child,
                task_queue=inp.queues.workflows,
                result_type=ShardProgress,
                # A batch that ends (cancelled, failed) while a shard still runs cancels it, never
                # terminates it: its in-flight micro-batch stops at a heartbeat and what it recorded stays.
                parent_close_policy=workflow.ParentClosePolicy.REQUEST_CANCEL,
                static_summary=f"documents {shard.start}-{shard.end - 1}",
            ))  # fmt: skip
        finally:
            self.running.remove(child)
        shard.count(out.counters, retry=retry, finished=True)
        if retry or out.cursor >= shard.end:
            shard.status = "done"
        else:
            shard.status, shard.cursor, shard.parts = "pending", out.cursor, shard.parts + 1
