"""The reduce tree starts with the analysis: a level-0 step runs once its documents are analysed, the final
step once the analysis ended; pause holds steps not yet started; a retry asked for during the analysis
drops that tree and reduces after the retry. The report is the one the tree run after the analysis makes."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType, WorkflowExecutionStatus
from temporalio.client import Client, WorkflowHandle

from orchestration.artifacts import reduction_key
from orchestration.client import JobEndedError
from orchestration.edge.cli.batch_view import reduce_line
from orchestration.shared import names
from orchestration.shared.batch import (
    AnalysedRange,
    AnalysisDone,
    BatchProgress,
    ReduceInput,
    ReduceOutcome,
    ReduceProgress,
    ShardControl,
)
from orchestration.shared.spec import ModelChoice
from orchestration.workflows.batch_reduce import _merged
from tests.support import batch_graphs
from tests.support.batches import batch_workers, records, small_spec, start, write_corpus
from tests.support.jobs import make_deps

pytestmark = pytest.mark.timeout(180)

SCHEDULED = EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
STEP_DONE = EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED
CHILD_DONE = EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED
# Four shards of 6 run one at a time; R = 4, so group [4, 8) spans shards 0 and 1: 6 + 2 + 1 steps.
_SPEC: dict[str, Any] = {"shard_size": 6, "parallelism": 1, "micro_batch": 3, "reduce_fanin": 4}


def test_ranges_merge_when_they_touch() -> None:
    assert _merged([], (6, 12)) == [(6, 12)]
    assert _merged([(6, 12)], (0, 6)) == [(0, 12)]
    assert _merged([(0, 6), (12, 18)], (6, 12)) == [(0, 18)]
    assert _merged([(0, 6)], (12, 18)) == [(0, 6), (12, 18)]


def _corpus_and_home(tmp_path: Path) -> tuple[Path, Path]:
    """24 documents: four shards of 6 (`_SPEC`)."""
    return write_corpus(tmp_path / "corpus", 24), tmp_path / "home"


async def _events(client: Client, workflow_id: str) -> list[Any]:
    """Every event of every run of `workflow_id`, oldest run first."""
    events: list[Any] = []
    runs = [wf async for wf in client.list_workflows(f'WorkflowId="{workflow_id}"')]
    for wf in sorted(runs, key=lambda w: w.start_time):
        events += (await client.get_workflow_handle(workflow_id, run_id=wf.run_id).fetch_history()).events
    return events


async def test_level_zero_reduces_finished_shards_while_later_ones_analyse(
    temporal_client: Client, tmp_path: Path
) -> None:
    corpus, home = _corpus_and_home(tmp_path)
    # A slow model: each shard takes a while, so a reduce step either overlaps the next shards or not.
    async with batch_workers(temporal_client, home, deps=make_deps(home, latency_s=0.02)) as (batches, deps):
        overlapped = await (await start(batches, deps, small_spec(**_SPEC), [str(corpus)], "overlap")).result()
        # A batch with a budget reduces after its analysis, as every batch did before the overlap.
        budget = {"max_model_calls": 10**6}
        after = await (await start(batches, deps, small_spec(**_SPEC, budget=budget), [str(corpus)], "after")).result()
    assert overlapped.report is not None and after.report is not None
    assert deps.artifacts.get_text(overlapped.report.key) == deps.artifacts.get_text(after.report.key)

    last_shard_done = _last_shard_done(await _events(temporal_client, "overlap"))
    steps = [e.event_time.ToDatetime() for e in await _events(temporal_client, "overlap/reduce-0")
             if e.event_type == SCHEDULED]  # fmt: skip
    assert len(steps) == 9
    early = [t for t in steps if t < last_shard_done]
    # Groups [0, 4) .. [12, 16) lie in shards 0-2 and may start before shard 3 ends; the rest need shard 3.
    assert 1 <= len(early) <= 4, (len(early), steps, last_shard_done)
    tree = await _events(temporal_client, "after/reduce-0")
    assert tree[0].event_time.ToDatetime() > _last_shard_done(await _events(temporal_client, "after"))


def _last_shard_done(parent: list[Any]) -> Any:
    return max(
        e.event_time.ToDatetime() for e in parent if e.event_type == CHILD_DONE
        and "/shard-" in e.child_workflow_execution_completed_event_attributes.workflow_execution.workflow_id
    )  # fmt: skip


async def _count(handle: WorkflowHandle[Any, Any], kind: EventType.ValueType) -> int:
    return sum(e.event_type == kind for e in (await handle.fetch_history()).events)


async def _until(handle: WorkflowHandle[Any, Any], kind: EventType.ValueType, n: int) -> None:
    for _ in range(300):
        if await _count(handle, kind) >= n:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"fewer than {n} {kind} events")


async def test_steps_wait_for_their_ranges_the_final_one_for_the_end_and_all_for_resume(
    temporal_client: Client, tmp_path: Path
) -> None:
    corpus = write_corpus(tmp_path / "corpus", 24)
    async with batch_workers(temporal_client, tmp_path / "home") as (batches, deps):
        source = await (await start(batches, deps, small_spec(**_SPEC), [str(corpus)], "tree-source")).result()
        # A second tree over the same records, driven by hand as the parent drives an overlapped one.
        handle = await temporal_client.start_workflow(
            names.REDUCE_WORKFLOW,
            ReduceInput(
                job_id="tree-source", graph="synthesize@1", model=ModelChoice(provider="fake"), round=7, total=24,
                fanin=4, parallelism=2, queues=batches.queues, overlapped=True,
            ),
            id="tree-source/reduce-7",
            task_queue=batches.queues.workflows,
            result_type=ReduceOutcome,
        )  # fmt: skip
        await handle.signal("control", ShardControl(paused=True))
        await handle.signal("analysed", AnalysedRange(start=0, end=6))
        await asyncio.sleep(1.5)
        assert await _count(handle, SCHEDULED) == 0  # paused: nothing starts
        assert await _progress(handle) == (0, 6, 0, 0, 6, True, False)  # (level, groups, steps, running, waiting..)

        await handle.signal("control", ShardControl(paused=False))
        await _until(handle, STEP_DONE, 1)
        await asyncio.sleep(1.0)
        assert await _count(handle, SCHEDULED) == 1  # only [0, 4) is analysed; [4, 8) waits for shard 1
        assert await _progress(handle) == (0, 6, 1, 0, 5, False, False)

        await handle.signal("analysed", AnalysedRange(start=12, end=24))
        await handle.signal("analysed", AnalysedRange(start=6, end=12))
        await _until(handle, STEP_DONE, 8)  # level 0 (6) and level 1 (2)
        await asyncio.sleep(1.0)
        assert await _count(handle, SCHEDULED) == 8  # the final step waits for the totals
        assert (await handle.describe()).status == WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING
        assert await _progress(handle) == (2, 1, 8, 0, 1, False, False)  # the final step waits for the analysis
        live = await handle.query("progress", result_type=ReduceProgress)
        assert (
            reduce_line("tree-source", live)
            == "reduce: level 2 (1 step); 8 done in all, 0 running, 1 waiting for the analysis"
        )

        totals = {"done": 24, "failed": 0, "reused": 0, "total": 24, "fanin": 4}
        await handle.signal("analysis_done", AnalysisDone(totals=totals, source_graph="summarize@1"))
        outcome = await handle.result()

    assert (outcome.reductions, outcome.levels) == (9, 3)
    assert outcome.report is not None and source.report is not None
    assert "24 of 24 documents analysed with `summarize@1`" in deps.artifacts.get_text(outcome.report.key)
    final = (reduction_key("tree-source", r, 2, 0) for r in (0, 7))
    assert len({deps.artifacts.get_text(k) for k in final}) == 1  # the same analysis as the batch's own tree


async def _progress(handle: WorkflowHandle[Any, Any]) -> tuple[Any, ...]:
    r = await handle.query("progress", result_type=ReduceProgress)
    assert r.overlapped and r.workflow_id == handle.id
    return (r.level, r.groups, r.steps, r.running, r.waiting, r.paused, r.analysis_done)


async def test_a_tree_that_fails_during_the_analysis_is_reported_at_once(
    temporal_client: Client, tmp_path: Path
) -> None:
    corpus, home = _corpus_and_home(tmp_path)
    # A slow model keeps shards 1-3 analysing long after shard 0's first step failed (non-retryable).
    async with batch_workers(temporal_client, home, deps=make_deps(home, latency_s=0.1)) as (batches, deps):
        spec = small_spec(**_SPEC, reduce_graph="broken-reduce@1")
        handle = await start(batches, deps, spec, [str(corpus)], "overlap-broken")
        seen: list[BatchProgress] = []
        while not (p := await handle.progress()).reduce or p.reduce.error is None:
            seen.append(p)
            assert p.phase == "analysing", p
            await asyncio.sleep(0.05)
        assert p.phase == "analysing" and p.done < 24, p  # known while the analysis goes on
        assert p.reducer_id == "overlap-broken/reduce-0"
        assert "injected: this reduce graph cannot reduce anything" in p.reduce.error
        assert any(s.reduce is not None and s.reduce.waiting > 0 for s in seen)  # the live view before it
        line = reduce_line("overlap-broken", p.reduce)
        assert line.startswith("reduce failed: ") and "--reuse overlap-broken" in line
        with pytest.raises(JobEndedError, match="the reduction failed"):
            await handle.result()

    assert len(records(deps, "overlap-broken")) == 24  # the analysis finished and kept every result
    assert all(r["ok"] for r in records(deps, "overlap-broken"))


async def test_a_retry_asked_for_during_the_analysis_drops_the_early_tree(
    temporal_client: Client, tmp_path: Path
) -> None:
    corpus = write_corpus(tmp_path / "corpus", 24, fail_marker={1})
    batch_graphs.BROKEN["on"] = True
    home = tmp_path / "home"
    try:
        async with batch_workers(temporal_client, home, deps=make_deps(home, latency_s=0.02)) as (batches, deps):
            spec = small_spec(**_SPEC, graph="flaky-summary@1")
            handle = await start(batches, deps, spec, [str(corpus)], "overlap-retry")
            while (p := await handle.progress()).shards[0].status != "done":  # retry counts finished shards
                assert p.phase == "analysing", p
                await asyncio.sleep(0.05)
            batch_graphs.BROKEN["on"] = False  # the fix
            assert await handle.retry_failed() == 1
            result = await handle.result()
    finally:
        batch_graphs.BROKEN["on"] = False

    assert (result.status, result.done, result.failed) == ("completed", 24, 0)
    assert result.report is not None and "24 of 24 documents analysed" in deps.artifacts.get_text(result.report.key)
    dropped = await temporal_client.get_workflow_handle("overlap-retry/reduce-0").describe()
    assert dropped.status == WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_CANCELED
    final = await temporal_client.get_workflow_handle("overlap-retry/reduce-1").describe()
    assert final.status == WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_COMPLETED
