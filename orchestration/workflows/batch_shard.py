"""BatchShardWorkflow: one slice of a batch's manifest, analysed in micro-batch activities.

Each activity handles up to M documents and heartbeats a cursor; the shard continues as
new every K activities (or when the server suggests it) carrying its counters and cursor
only, so its history stays a few hundred events whatever the slice's size. A run with an
allowance (its share of the batch's budget) stops between micro-batches once it has spent
it; its cursor says where the next run starts. Pause, resume
and graph swaps arrive from the parent as a signal and apply between micro-batches.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from orchestration.shared import names
    from orchestration.shared.batch import DocBatchRequest, DocBatchResult, ShardControl, ShardInput, ShardProgress
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

    @workflow.run
    async def run(self, inp: ShardInput) -> ShardProgress:
        s = self._in
        opts = _documents_options(ActivityOptions(s.queues, s.tuning), s.micro_batch)
        while s.cursor < s.end:
            await workflow.wait_condition(lambda: not self._in.paused)
            if s.allowance is not None and s.allowance.spent(s.counters.usage):
                break  # this run's share of the budget is spent: the parent decides what next
            if self._ran_here >= s.continue_every or workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                s.counters.continued += 1
                workflow.continue_as_new(s)
            stop = min(s.cursor + s.micro_batch, s.end)
            result = await workflow.execute_activity(
                names.BATCH_DOCUMENTS,
                DocBatchRequest(
                    job_id=s.job_id, manifest_key=s.manifest_key, start=s.cursor, end=stop, graph=s.graph,
                    model=s.model, question=s.question, doc_attempts=s.doc_attempts, reuse_job=s.reuse_job,
                    retry=s.retry, task=s.task, collection=s.collection,
                ),
                result_type=DocBatchResult,
                summary=f"documents {s.cursor}-{stop - 1}",
                **opts.kwargs(),
            )  # fmt: skip
            s.counters.add(result)
            s.cursor = stop
            self._ran_here += 1
        return self.progress()

    @workflow.signal(name="control")
    def control(self, change: ShardControl) -> None:
        if change.paused is not None:
            self._in.paused = change.paused
        if change.graph is not None:
            self._in.graph = change.graph

    @workflow.query(name="progress")
    def progress(self) -> ShardProgress:
        s = self._in
        return ShardProgress(
            index=s.index, start=s.start, end=s.end, cursor=s.cursor, paused=s.paused, graph=s.graph,
            counters=s.counters, micro_batch=s.micro_batch,
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
