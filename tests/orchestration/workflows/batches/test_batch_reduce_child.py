"""The reduce tree runs in a `BatchReduce` child that continues as new: same report, the parent's history
no longer grows with the number of documents, and a group with no analysed document is left out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client

from orchestration.activities import WorkerDeps
from orchestration.batch_client import BatchClient
from tests.support import batch_graphs
from tests.support.batches import COMPLETED, CONTINUED, batch_workers, runs_of, small_spec, start, write_corpus

pytestmark = pytest.mark.timeout(120)

# R = 2: n documents need n reduce steps (n/2 + n/4 + ... + 1, each level rounded up).
_TREE = {"reduce_fanin": 2, "micro_batch": 8, "parallelism": 2}


async def _batch(
    client: Client, batches: BatchClient, deps: WorkerDeps, corpus: Path, job: str, **spec: Any
) -> tuple[str, int, int]:
    """Run a batch to the end: its report's text, the reductions it counted, its parent's history length."""
    handle = await start(batches, deps, small_spec(**_TREE, **spec), [str(corpus)], job)
    result = await handle.result()
    assert (result.status, result.failed) == ("completed", 0) and result.report is not None
    state = await handle.state()
    parent, _ = await runs_of(client, job)
    assert len(parent) == 1, parent  # the default server never suggests continue-as-new this early
    return deps.artifacts.get_text(result.report.key), state.reductions, parent[0]


async def test_reduce_tree_continues_as_new_and_reports_the_same(temporal_client: Client, tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus", 48)
    async with batch_workers(temporal_client, tmp_path / "home") as (batches, deps):
        # K = 11: a run launches six waves of two steps (12) before it continues as new. Fewer, longer
        # runs than K = 1 would give: the server holds a continued run's first task ~1 s when its
        # predecessor was that short (a guard against tight continue-as-new loops).
        report_k11, steps_k11, _ = await _batch(
            temporal_client, batches, deps, corpus, "reduce-k11", shard_size=24, continue_every=11
        )
        report_k100, steps_k100, _ = await _batch(temporal_client, batches, deps, corpus, "reduce-k100", shard_size=24)

    assert report_k11 == report_k100 and "48 of 48 documents analysed" in report_k11
    assert steps_k11 == steps_k100 == 48
    lengths, ends = await runs_of(temporal_client, "reduce-k11/reduce-0")
    assert len(lengths) >= 4, lengths  # 48 steps, at most 12 per run
    assert all(e == CONTINUED for e in ends[:-1]) and ends[-1] == COMPLETED
    assert max(lengths) <= 100, lengths  # each run holds K steps, whatever the tree's size
    single, _ = await runs_of(temporal_client, "reduce-k100/reduce-0")
    assert len(single) == 1 and single[0] > max(lengths)  # K = 100 > 48 steps: one run


async def test_parent_history_does_not_grow_with_the_documents(temporal_client: Client, tmp_path: Path) -> None:
    small, large = write_corpus(tmp_path / "small", 24), write_corpus(tmp_path / "large", 96)
    async with batch_workers(temporal_client, tmp_path / "home") as (batches, deps):
        # Two shards each: the shard count is bounded by MAX_SHARDS on its own; the tree is 24 vs 96 steps.
        _, steps_small, parent_small = await _batch(temporal_client, batches, deps, small, "flat-24", shard_size=12)
        _, steps_large, parent_large = await _batch(temporal_client, batches, deps, large, "flat-96", shard_size=48)

    assert (steps_small, steps_large) == (24, 96)
    # The parent ran the tree itself before: 4-5 events per step, ~300 more for the larger batch.
    # Now both parents hold two shards, one reduce child and the publish saga; workflow tasks may
    # batch differently, hence a small tolerance.
    assert abs(parent_large - parent_small) <= 8, (parent_small, parent_large)


async def test_a_group_whose_every_document_failed_is_left_out(temporal_client: Client, tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus", 12, fail_marker={0, 1, 2, 3})
    batch_graphs.BROKEN["on"] = True
    async with batch_workers(temporal_client, tmp_path / "home") as (batches, deps):
        # R = 4: level 0 is documents 0-3 (all failed: no reduction), 4-7 and 8-11; level 1 the two that exist.
        spec = small_spec(graph="flaky-summary@1", reduce_fanin=4, shard_size=12)
        handle = await start(batches, deps, spec, [str(corpus)], "reduce-empty-group")
        result = await handle.result()
        state = await handle.state()

    assert (result.status, result.done, result.failed) == ("completed", 8, 4)
    assert state.reductions == 3 + 1 and state.final_reduce is not None and state.final_reduce.below == [1, 2]
    report = deps.artifacts.get_text(result.report.key) if result.report else ""
    assert "8 of 12 documents analysed with `flaky-summary@1` (4 failed" in report
