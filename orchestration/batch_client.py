"""BatchClient: start a batch over a written manifest, watch it, steer it, collect its result.

The parent's progress query knows finished shards; running shards are queried one by
one for their live counters, so the parent's history grows by nothing while it is watched.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from orchestration.client import BaseHandle, JobExistsError, JobHandle, ResearchClient, failure_reason
from orchestration.shared import names
from orchestration.shared.batch import (
    BATCH_FINAL,
    BatchInput,
    BatchProgress,
    BatchResult,
    BatchSpec,
    BatchState,
    BatchSwap,
    ReduceProgress,
    ShardProgress,
)
from orchestration.shared.messages import TaskQueues, Tuning

_ENDED_BADLY = (WorkflowExecutionStatus.FAILED, WorkflowExecutionStatus.TIMED_OUT, WorkflowExecutionStatus.TERMINATED)


class BatchClient:
    """Batches on one Temporal client (the same queues and tuning as research jobs)."""

    def __init__(self, client: Client, *, queues: TaskQueues | None = None, tuning: Tuning | None = None) -> None:
        self.client = client
        self.queues = queues or TaskQueues()
        self.tuning = tuning or Tuning()

    async def start(self, spec: BatchSpec, *, job_id: str, manifest_key: str, total: int) -> BatchHandle:
        """Start the batch whose manifest the edge wrote (`orchestration.activities.manifest`)."""
        try:
            await self.client.start_workflow(
                names.BATCH_WORKFLOW,
                BatchInput(spec=spec, manifest_key=manifest_key, total=total, queues=self.queues, tuning=self.tuning),
                id=job_id,
                task_queue=self.queues.workflows,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                result_type=BatchResult,
            )
        except WorkflowAlreadyStartedError:
            raise JobExistsError(f"job id '{job_id}' is already in use; pick another --job-id") from None
        return self.attach(job_id)

    def attach(self, job_id: str) -> BatchHandle:
        return BatchHandle(self.client, self.client.get_workflow_handle(job_id, result_type=BatchResult))


class BatchHandle(BaseHandle[BatchProgress, BatchResult, BatchState]):
    """One batch: live progress over its shards and reduce tree, pause/resume/retry/swap
    (approval, budget, cancellation and the result are BaseHandle's)."""

    kind = "batch"
    _progress_type = BatchProgress
    _state_type = BatchState

    def __init__(self, client: Client, handle: WorkflowHandle[Any, BatchResult]) -> None:
        super().__init__(handle)
        self.client = client

    async def progress(self) -> BatchProgress:
        """The parent's counts plus each running shard's live counters, the reduce child's view, rate and ETA."""
        p = await self.handle.query(names.PROGRESS_QUERY, result_type=BatchProgress)
        reducer = asyncio.ensure_future(self._reducer(p.reducer_id)) if p.reducer_id else None
        lives = await asyncio.gather(*(self._shard(sid) for sid in p.running_ids), return_exceptions=True)
        if reducer is not None:
            try:
                p.reduce = await reducer
            except Exception:  # it ended between the two queries: the parent's next answer says how
                p.reduce = None
        for live in lives:
            if not isinstance(live, ShardProgress):
                continue  # the shard finished between the two queries
            # The parent holds what finished runs did (zero before a shard's first run ends).
            p.shards[live.index].count(live.counters, retry=live.retry, finished=False)
            p.usage += live.counters.usage  # a running shard's spending is not yet in the parent's sum
            # A worker from before windows does not say: one micro-batch in flight per shard.
            p.running += live.running if live.running is not None else min(live.end - live.cursor, live.micro_batch)
        p.done, p.failed, p.reused = (sum(getattr(sh, k) for sh in p.shards) for k in ("done", "failed", "reused"))
        if p.started_at is not None:
            end = p.analysed_at or datetime.now(UTC)
            seconds = max((end - p.started_at).total_seconds(), 1e-3)
            p.docs_per_s = round(p.done / seconds, 2)
            left = p.total - p.done - p.failed
            p.eta_s = round(left / p.docs_per_s, 1) if p.docs_per_s and left > 0 else (0.0 if left <= 0 else None)
        return p

    async def _shard(self, shard_id: str) -> ShardProgress:
        return await self.client.get_workflow_handle(shard_id).query(names.PROGRESS_QUERY, result_type=ShardProgress)

    async def _reducer(self, workflow_id: str) -> ReduceProgress | None:
        """The reduce tree's live view; a child that failed (the overlapped tree, while the analysis
        goes on) says why at once, not only when the batch ends."""
        handle = self.client.get_workflow_handle(workflow_id)
        status = (await handle.describe()).status
        if status in (WorkflowExecutionStatus.RUNNING, WorkflowExecutionStatus.CONTINUED_AS_NEW):
            return await handle.query(names.PROGRESS_QUERY, result_type=ReduceProgress)
        if status in _ENDED_BADLY:
            try:
                await handle.result()
            except WorkflowFailureError as err:
                return ReduceProgress(workflow_id=workflow_id, error=failure_reason(err))
        return None  # completed (the parent is about to say so) or cancelled (a retry dropped it)

    async def watch(self, interval_s: float = 0.5) -> AsyncIterator[BatchProgress]:
        """Yield progress until the batch ends."""
        while True:
            desc = await self.handle.describe()
            closed = desc.status not in (None, WorkflowExecutionStatus.RUNNING)
            try:
                progress = await self.progress()
            except Exception:
                if closed:
                    return
                raise
            yield progress
            if closed or progress.phase in BATCH_FINAL:
                return
            await asyncio.sleep(interval_s)

    async def pause(self) -> BatchProgress:
        return await self._update(names.PAUSE_UPDATE, None, BatchProgress)

    async def resume(self) -> BatchProgress:
        return await self._update(names.RESUME_UPDATE, None, BatchProgress)

    async def retry_failed(self) -> int:
        return await self._update(names.RETRY_FAILED_UPDATE, None, int)

    async def swap_graph(self, graph: str) -> int:
        return await self._update(names.SWAP_GRAPH_UPDATE, BatchSwap(graph=graph), int)


async def lookup(client: ResearchClient, job_id: str) -> JobHandle | BatchHandle:
    """The handle of `job_id`, a research job's or a batch's (one describe).

    Raises:
        RPCError: NOT_FOUND for an id that names no workflow.
    """
    desc = await client.client.get_workflow_handle(job_id).describe()
    if desc.workflow_type == names.BATCH_WORKFLOW:
        return BatchClient(client.client, queues=client.queues, tuning=client.tuning).attach(job_id)
    return client.attach(job_id)
