"""The batch's reduce tree as the parent sees it: one `BatchReduce` child per round.

Started after the analysis, or (`batch-reduce-overlap`) with it, when each finished shard's range
is signalled to it so that the tree's first level runs while later shards analyse. The child's
runs hold the steps; the parent's history holds one child per round. Workflow code (sandboxed).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ChildWorkflowError

with workflow.unsafe.imports_passed_through():
    from orchestration.shared import names
    from orchestration.shared.batch import AnalysisDone, BatchInput, BatchState, ReduceInput, ReduceOutcome
    from orchestration.shared.messages import JobState
    from orchestration.shared.usage import Usage

# Workflow code, imported as the workflow is (not passed through), like batch_job imports it.
from orchestration.workflows.batch_shards import run_child


class ReduceChild:
    """The round's reduce child: start it, tell it things, wait for its report.

    Args:
        state: the batch's state (reductions, reduce usage, the final step and the report).
        inp: the batch's input.
        publish: the publish saga's state, which must hold the report the tree made.
        totals: the batch's document totals for the report (done, failed, reused, total, fan-in).
        usage: what the batch has spent so far (for the report's footer).

    Attributes:
        id: the running child's workflow id (for the progress query), None between rounds.
    """

    def __init__(
        self,
        state: BatchState,
        inp: BatchInput,
        publish: JobState,
        *,
        totals: Callable[[], dict[str, int]],
        usage: Callable[[], Usage],
    ) -> None:
        self._s, self._in, self._publish = state, inp, publish
        self._totals, self._usage = totals, usage
        self._overlapped: workflow.ChildWorkflowHandle[Any, ReduceOutcome] | None = None
        self.id: str | None = None

    @property
    def overlapping(self) -> bool:
        """Whether a child started with the analysis is running (it reduces ranges as shards finish)."""
        return self._overlapped is not None

    async def start_overlapped(self) -> None:
        """Start this round's child before the analysis; it learns the totals at the end (`finish`)."""
        self._overlapped = await self._start(overlapped=True)

    async def run(self) -> None:
        """Start this round's child after the analysis and wait for its report."""
        reducer = await self._start(overlapped=False)
        try:
            self._reduced(await run_child("the reduction", lambda: reducer))
        finally:
            self.id = None

    async def finish(self) -> None:
        """The analysis ended: tell the overlapped child what its final step states, then wait for the report."""
        reducer = self._overlapped
        assert reducer is not None
        done = AnalysisDone(totals=self._totals(), source_graph=self._s.graph, usage_so_far=self._usage())
        await self.signal(names.ANALYSIS_DONE_SIGNAL, done)
        try:
            self._reduced(await run_child("the reduction", lambda: reducer))
        finally:
            self._overlapped, self.id = None, None

    async def drop(self) -> None:
        """A retry was asked for during the analysis: the overlapped tree reduced results the retry
        changes, so it is cancelled (its reductions are round 0's artifacts) and a new one reduces after."""
        reducer, self._overlapped, self.id = self._overlapped, None, None
        assert reducer is not None
        reducer.cancel()
        try:
            await reducer
        except ChildWorkflowError as err:
            workflow.logger.info("reduce child dropped for the retry: %s", err.cause or err)

    async def signal(self, name: str, arg: Any) -> None:
        """Signal the overlapped child; one that failed already is not an error here (awaiting it says why)."""
        assert self._overlapped is not None
        try:
            await self._overlapped.signal(name, arg)
        except Exception as err:
            workflow.logger.info("reduce child not signalled: %s", err)

    async def _start(self, *, overlapped: bool) -> workflow.ChildWorkflowHandle[Any, ReduceOutcome]:
        s, spec, inp = self._s, self._in.spec, self._in
        job = workflow.info().workflow_id
        known: dict[str, Any] = {}
        if not overlapped:
            known = {"source_graph": s.graph, "usage_so_far": self._usage(), "totals": self._totals()}
        handle = await workflow.start_child_workflow(
            names.REDUCE_WORKFLOW,
            ReduceInput(
                job_id=job, graph=spec.reduce_graph, model=spec.model, question=spec.question,
                round=s.retry_round, total=inp.total, fanin=spec.reduce_fanin, parallelism=spec.parallelism,
                continue_every=spec.continue_every, queues=inp.queues, tuning=inp.tuning,
                overlapped=overlapped, paused=s.paused, **known,
            ),
            id=f"{job}/reduce-{s.retry_round}",
            task_queue=inp.queues.workflows,
            result_type=ReduceOutcome,
            parent_close_policy=workflow.ParentClosePolicy.REQUEST_CANCEL,
            static_summary=f"reduce round {s.retry_round}: at most {spec.reduce_fanin} inputs per step",
        )  # fmt: skip
        self.id = handle.id
        return handle

    def _reduced(self, out: ReduceOutcome) -> None:
        s = self._s
        s.reductions += out.reductions
        s.reduce_usage += out.usage
        s.final_reduce = out.final
        s.report = self._publish.report = out.report
