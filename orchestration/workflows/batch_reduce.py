"""BatchReduceWorkflow: a batch's reduce tree, in a child that continues as new so no history grows with the corpus.

Level 0 reduces manifest ranges of R documents; each later level reduces groups of at most R
reductions of the level below, until one step is left, whose result is the report. A run
launches at most `parallelism` steps at a time and continues as new every K steps (or when
the server suggests it), carrying only its cursor (`ReduceInput`): the level, the next group
and which groups produced nothing. The reductions themselves are artifacts whose keys follow
from (job, round, level, group), so a step names its inputs by group, never by a list of keys.
"""

from __future__ import annotations

import asyncio

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from orchestration.shared import names
    from orchestration.shared.batch import (
        AnalysedRange,
        AnalysisDone,
        ReduceInput,
        ReduceOutcome,
        ReduceProgress,
        ReduceRequest,
        ReduceResult,
        ShardControl,
    )
    from orchestration.workflows import patches
    from orchestration.workflows.options import ActivityOptions


@workflow.defn(name=names.REDUCE_WORKFLOW)
class BatchReduceWorkflow:
    @workflow.init
    def __init__(self, inp: ReduceInput) -> None:
        self._in = inp
        # For the progress query only (no command depends on them): steps of the wave in hand.
        self._finished = 0  # finished, not yet counted in `steps` (counted when the wave ends)
        self._running = 0
        self._waiting = 0

    @workflow.run
    async def run(self, inp: ReduceInput) -> ReduceOutcome:
        s = inp
        ran_here = 0  # steps launched in this run (its history since the last continue-as-new)
        while True:
            groups = self._groups()
            while s.next_group < len(groups):
                if ran_here >= s.continue_every or workflow.info().is_continue_as_new_suggested():
                    s.continued += 1
                    workflow.continue_as_new(s)
                if workflow.patched(patches.REDUCE_WINDOW):
                    # A window, not waves: a new step starts as soon as any of the `parallelism`
                    # running ones ends, so one slow step no longer holds the others back; the run
                    # drains before it may continue as new (after at most K steps).
                    wave = range(s.next_group, min(s.next_group + s.continue_every - ran_here, len(groups)))
                else:
                    wave = range(s.next_group, min(s.next_group + s.parallelism, len(groups)))
                final = len(groups) == 1
                if s.overlapped:
                    requests, results = await self._run_when_ready([(g, groups[g]) for g in wave], final)
                else:
                    requests = [self._request(g, groups[g], final=final) for g in wave]
                    results = await self._run_steps(requests)
                s.usage = sum((out.usage for out in results), s.usage)
                s.empty_here += [r.group for r, out in zip(requests, results, strict=True) if not out.key]
                s.steps, s.next_group, ran_here = s.steps + len(wave), wave.stop, ran_here + len(wave)
                self._finished = 0
                if requests[0].final:
                    return self._finish(requests[0], results[0])
            if len(s.empty_here) == len(groups):
                raise _failed("no document was analysed; nothing to reduce")
            s.below_width, s.empty_below, s.empty_here = len(groups), s.empty_here, []
            s.level, s.next_group = s.level + 1, 0

    @workflow.signal(name=names.ANALYSED_SIGNAL)
    def analysed(self, done: AnalysedRange) -> None:
        self._in.analysed = _merged(self._in.analysed, (done.start, done.end))

    @workflow.signal(name=names.ANALYSIS_DONE_SIGNAL)
    def analysis_done(self, done: AnalysisDone) -> None:
        s = self._in
        s.totals, s.source_graph, s.usage_so_far = done.totals, done.source_graph, done.usage_so_far
        s.analysis_done = True

    @workflow.signal(name=names.CONTROL_SIGNAL)
    def control(self, change: ShardControl) -> None:
        """The batch's pause and resume: steps not started yet wait (a paused batch spends nothing new)."""
        if change.paused is not None:
            self._in.paused = change.paused

    def _groups(self) -> list[tuple[int, int] | list[int]]:
        """This level's groups: manifest ranges at level 0, else groups of the level below's non-empty results.

        Recomputed from the cursor (no history): at most documents / R small items at level 0.
        """
        s = self._in
        if s.level == 0:
            return [(a, min(a + s.fanin, s.total)) for a in range(0, s.total, s.fanin)]
        empty = set(s.empty_below)
        below = [g for g in range(s.below_width) if g not in empty]
        return [below[i : i + s.fanin] for i in range(0, len(below), s.fanin)]

    def _request(self, group: int, inputs: tuple[int, int] | list[int], *, final: bool) -> ReduceRequest:
        s = self._in
        where = {"start": inputs[0], "end": inputs[1]} if isinstance(inputs, tuple) else {"below": inputs}
        # The report's footer: what the batch spent before the tree, and the tree's earlier levels.
        so_far = s.usage_so_far + s.usage if final and s.usage_so_far is not None else None
        return ReduceRequest(
            job_id=s.job_id, graph=s.graph, model=s.model, question=s.question, round=s.round, level=s.level,
            group=group, final=final, totals=s.totals, source_graph=s.source_graph, usage_so_far=so_far, **where,
        )  # fmt: skip

    async def _run_steps(self, requests: list[ReduceRequest]) -> list[ReduceResult]:
        """The steps' results in order, at most `parallelism` running at once."""
        slots = asyncio.Semaphore(self._in.parallelism)

        async def one(req: ReduceRequest) -> ReduceResult:
            async with slots:
                return await self._step(req)

        return list(await asyncio.gather(*(one(r) for r in requests)))

    async def _run_when_ready(
        self, wave: list[tuple[int, tuple[int, int] | list[int]]], final: bool
    ) -> tuple[list[ReduceRequest], list[ReduceResult]]:
        """Overlapped: the steps in order, each started once its inputs are ready and the batch is not paused.

        A request is made when its step starts: the final one carries the analysis's totals, known
        only then. At most `parallelism` run at once; a step waiting for its documents holds no slot.
        """
        slots = asyncio.Semaphore(self._in.parallelism)
        made: dict[int, ReduceRequest] = {}

        async def one(group: int, inputs: tuple[int, int] | list[int]) -> ReduceResult:
            self._waiting += 1
            try:
                await workflow.wait_condition(lambda: self._ready(inputs, final))
            finally:
                self._waiting -= 1
            async with slots:
                req = made[group] = self._request(group, inputs, final=final)
                return await self._step(req)

        results = list(await asyncio.gather(*(one(g, inputs) for g, inputs in wave)))
        return [made[g] for g, _ in wave], results

    def _ready(self, inputs: tuple[int, int] | list[int], final: bool) -> bool:
        s = self._in
        if s.paused or (final and not s.analysis_done):
            return False
        # Later levels' inputs are reductions of level 0, which ran only once every range was analysed.
        return isinstance(inputs, list) or any(a <= inputs[0] and inputs[1] <= b for a, b in s.analysed)

    async def _step(self, req: ReduceRequest) -> ReduceResult:
        s = self._in
        self._running += 1
        try:
            out = await workflow.execute_activity(
                names.BATCH_REDUCE,
                req,
                result_type=ReduceResult,
                summary=f"reduce level {req.level} group {req.group}",
                **ActivityOptions(s.queues, s.tuning).reasoning().kwargs(),
            )
        finally:
            self._running -= 1
        self._finished += 1
        return out

    @workflow.query(name=names.PROGRESS_QUERY)
    def progress(self) -> ReduceProgress:
        """Where the tree is: a query, so watching it adds nothing to the history."""
        s = self._in
        return ReduceProgress(
            workflow_id=workflow.info().workflow_id, level=s.level, groups=len(self._groups()),
            steps=s.steps + self._finished, running=self._running, waiting=self._waiting,
            overlapped=s.overlapped, analysis_done=s.analysis_done, paused=s.paused,
        )  # fmt: skip

    def _finish(self, final: ReduceRequest, result: ReduceResult) -> ReduceOutcome:
        if result.report is None:
            raise _failed("the reduction produced no report (no document was analysed)")
        s = self._in
        return ReduceOutcome(
            report=result.report, reductions=s.steps, levels=s.level + 1, continued=s.continued, usage=s.usage,
            final=final,
        )  # fmt: skip


def _failed(message: str) -> ApplicationError:
    """Nothing to reduce is a fact about the batch, not a passing fault: fail the child, do not retry it."""
    return ApplicationError(message, type="BatchFailed", non_retryable=True)


def _merged(ranges: list[tuple[int, int]], new: tuple[int, int]) -> list[tuple[int, int]]:
    """`ranges` with `new` added, touching or overlapping ranges joined (so a group across two shards is covered)."""
    out: list[tuple[int, int]] = []
    for a, b in sorted([*ranges, new]):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out
