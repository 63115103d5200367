"""The reduce tree as the batch parent ran it before the `batch-reduce-child` patch, kept only so
that batches started before that patch (and the committed histories recorded then) replay.

A tree: level 0 reduces manifest ranges of R documents, each later level R reductions; every
step is one activity scheduled by the parent itself, 4-5 history events per step and
documents / R steps in all, which is why the tree moved into a `BatchReduce` child that
continues as new (`batch_reduce.py`).

Retire it with `patches.BATCH_REDUCE_CHILD`: once no batch run whose history lacks that marker
can be replayed (open runs, and closed ones within the namespace's retention), the parent's
`patched(BATCH_REDUCE_CHILD)` becomes `deprecate_patch` and this module, with
`patches.BATCH_USAGE_FOOTER` (asked only here), goes; `batch_parent.json` and
`batch_parent_usage_footer.json` under tests/histories/batch/ go with it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from orchestration.shared import names
    from orchestration.shared.batch import BatchInput, BatchState, ReduceRequest, ReduceResult
    from orchestration.shared.messages import ReportRef
    from orchestration.shared.usage import Usage
    from orchestration.workflows import patches
    from orchestration.workflows.options import ActivityOptions

# Workflow code, imported as the workflow is (not passed through), like batch_job imports it.
from orchestration.workflows.batch_shards import BatchFailed

_T = TypeVar("_T")


class ParentReduce:
    """Runs the whole tree from the parent; returns the report of its final step.

    Args:
        state: the batch's state (reductions and reduce usage are counted in place).
        inp: the batch's input.
        opts: the activity options of the batch.
        totals: the batch's document totals for the report (done, failed, reused, total, fan-in).
        usage: what the batch has spent so far (for the report's footer).
    """

    def __init__(
        self,
        state: BatchState,
        inp: BatchInput,
        opts: ActivityOptions,
        *,
        totals: Callable[[], dict[str, int]],
        usage: Callable[[], Usage],
    ) -> None:
        self._s, self._in, self._opts = state, inp, opts
        self._totals, self._usage = totals, usage

    async def run(self) -> ReportRef:
        s, spec, total = self._s, self._in.spec, self._in.total
        fanin = spec.reduce_fanin
        ranges = [(a, min(a + fanin, total)) for a in range(0, total, fanin)]
        requests = [self._request(0, g, len(ranges) == 1, start=a, end=b) for g, (a, b) in enumerate(ranges)]
        level = 0
        while True:
            results = await self._bounded([self._step(r) for r in requests])
            s.reductions += len(requests)
            for result in results:
                s.reduce_usage += result.usage
            keys = [r.key for r in results if r.key]
            if requests[0].final:
                report = results[0].report
                if report is None:
                    raise BatchFailed("the reduction produced no report (no document was analysed)")
                return report
            if not keys:
                raise BatchFailed("no document was analysed; nothing to reduce")
            level += 1
            groups = [keys[i : i + fanin] for i in range(0, len(keys), fanin)]
            requests = [self._request(level, g, len(groups) == 1, keys=k) for g, k in enumerate(groups)]

    def _request(self, level: int, group: int, final: bool, **where: Any) -> ReduceRequest:
        spec = self._in.spec
        totals = self._totals()
        # The report's footer says what the batch spent; histories from before it have no such input.
        so_far = self._usage() if final and workflow.patched(patches.BATCH_USAGE_FOOTER) else None
        return ReduceRequest(
            job_id=workflow.info().workflow_id, graph=spec.reduce_graph, model=spec.model, question=spec.question,
            round=self._s.retry_round, level=level, group=group, final=final, totals=totals,
            source_graph=self._s.graph, usage_so_far=so_far, **where,
        )  # fmt: skip

    def _step(self, req: ReduceRequest) -> Callable[[], Awaitable[ReduceResult]]:
        return lambda: workflow.execute_activity(
            names.BATCH_REDUCE,
            req,
            result_type=ReduceResult,
            summary=f"reduce level {req.level} group {req.group}",
            **self._opts.reasoning().kwargs(),
        )

    async def _bounded(self, steps: list[Callable[[], Awaitable[_T]]]) -> list[_T]:
        gate = asyncio.Semaphore(self._in.spec.parallelism)

        async def one(step: Callable[[], Awaitable[_T]]) -> _T:
            async with gate:
                return await step()

        return list(await asyncio.gather(*(one(step) for step in steps)))
