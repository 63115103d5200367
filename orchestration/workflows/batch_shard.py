"""BatchShardWorkflow: one slice of a batch's manifest, analysed in micro-batch activities.

Each activity handles up to M documents and heartbeats a cursor; up to W of them run at once
(a sliding window, in manifest order: the next starts while the last is still recording, so
the worker's document pool does not idle through each activity's round trip). The shard
continues as new after K activities (or when the server suggests it), once its window has
drained, carrying its counters and cursor only, so its history stays a few hundred events
whatever the slice's size. A run with an allowance (its share of the batch's budget) runs one
micro-batch at a time and stops between them once it has spent it; its cursor says where the
next run starts. Pause, resume and graph swaps arrive from the parent as a signal and apply
to micro-batches not yet started.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections import deque
from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from orchestration.shared import names
    from orchestration.shared.batch import DocBatchRequest, DocBatchResult, ShardControl, ShardInput, ShardProgress
    from orchestration.workflows import patches
    from orchestration.workflows.options import ActivityOptions, CallOptions

# A micro-batch of M documents runs M graphs back to back: its limit grows with M.
_PER_DOCUMENT = timedelta(minutes=2)
_ATTEMPTS = 20


@workflow.defn(name=names.SHARD_WORKFLOW)
class BatchShardWorkflow:
    @workflow.init
    def __init__(self, inp: ShardInput) -> None:
        self._in = inp
        self._ran_here = 0  # activities in this run (history since the last continue-as-new)
        self._next = inp.cursor  # where the next micro-batch starts (past the cursor while a window runs)

    @workflow.run
    async def run(self, inp: ShardInput) -> ShardProgress:
        s = self._in
        opts = _documents_options(ActivityOptions(s.queues, s.tuning), s.micro_batch)
        # A budget is checked between micro-batches: one at a time keeps its overshoot to one.
        if s.window > 1 and s.allowance is None and workflow.patched(patches.SHARD_WINDOW):
            await self._windowed(opts, s.window)
            return self.progress()
        while s.cursor < s.end:
            await workflow.wait_condition(lambda: not self._in.paused)
            if s.allowance is not None and s.allowance.spent(s.counters.usage):
                break  # this run's share of the budget is spent: the parent decides what next
            if self._ran_here >= s.continue_every or workflow.info().is_continue_as_new_suggested():
                await self._continue_as_new()
            stop = self._next = min(s.cursor + s.micro_batch, s.end)
            s.counters.add(await self._micro_batch(opts, s.cursor, stop))
            s.cursor = stop
            self._ran_here += 1
        return self.progress()

    async def _windowed(self, opts: CallOptions, window: int) -> None:
        """Micro-batches from the cursor on, up to `window` at once, counted in manifest order.

        The cursor moves only past a micro-batch whose predecessors all finished, so a retry of the
        shard (or its next run) never skips a document; a later one that ends first waits its turn.
        """
        s = self._in
        running: deque[tuple[int, asyncio.Task[DocBatchResult]]] = deque()
        launched = 0  # this run's micro-batches, for continue-as-new after K
        try:
            while s.cursor < s.end:
                due = launched >= s.continue_every or workflow.info().is_continue_as_new_suggested()
                while len(running) < window and self._next < s.end and not s.paused and not due:
                    stop = min(self._next + s.micro_batch, s.end)
                    running.append((stop, asyncio.create_task(self._micro_batch(opts, self._next, stop))))
                    self._next, launched = stop, launched + 1
                    due = launched >= s.continue_every
                if running:
                    stop, first = running[0]
                    s.counters.add(await first)
                    running.popleft()
                    s.cursor = stop
                    self._ran_here += 1
                elif due:
                    await self._continue_as_new()
                else:  # paused with nothing in flight
                    await workflow.wait_condition(lambda: not self._in.paused)
        except BaseException:
            if not running:
                raise
            # A failed micro-batch fails the shard, as it always did; a cancel stops them all. Either way
            # the others in flight stop at their next heartbeat and keep what they recorded.
            for _, task in running:
                task.cancel()
            await asyncio.gather(*(task for _, task in running), return_exceptions=True)
            raise

    async def _micro_batch(self, opts: CallOptions, start: int, stop: int) -> DocBatchResult:
        s = self._in
        return await workflow.execute_activity(
            names.BATCH_DOCUMENTS,
            DocBatchRequest(
                job_id=s.job_id, manifest_key=s.manifest_key, start=start, end=stop, graph=s.graph,
                model=s.model, question=s.question, doc_attempts=s.doc_attempts, reuse_job=s.reuse_job,
                retry=s.retry, task=s.task, collection=s.collection,
            ),
            result_type=DocBatchResult,
            summary=f"documents {start}-{stop - 1}",
            **opts.kwargs(),
        )  # fmt: skip

    async def _continue_as_new(self) -> None:
        await workflow.wait_condition(workflow.all_handlers_finished)
        self._in.counters.continued += 1
        workflow.continue_as_new(self._in)

    @workflow.signal(name=names.CONTROL_SIGNAL)
    def control(self, change: ShardControl) -> None:
        if change.paused is not None:
            self._in.paused = change.paused
        if change.graph is not None:
            self._in.graph = change.graph

    @workflow.query(name=names.PROGRESS_QUERY)
    def progress(self) -> ShardProgress:
        s = self._in
        return ShardProgress(
            index=s.index, start=s.start, end=s.end, cursor=s.cursor, paused=s.paused, graph=s.graph,
            counters=s.counters, micro_batch=s.micro_batch, running=max(self._next - s.cursor, 0), retry=s.retry,
        )  # fmt: skip


def _documents_options(opts: ActivityOptions, micro_batch: int) -> CallOptions:
    base = opts.reasoning()
    return CallOptions(
        task_queue=base.task_queue,
        start_to_close_timeout=_PER_DOCUMENT * micro_batch,
        heartbeat_timeout=base.heartbeat_timeout,
        # Documents that fail are recorded inside the activity; the activity itself fails only
        # when its worker or the server does, so it gets more tries than a research step.
        retry_policy=dataclasses.replace(base.retry_policy, maximum_attempts=_ATTEMPTS),
        cancellation_type=base.cancellation_type,
    )
