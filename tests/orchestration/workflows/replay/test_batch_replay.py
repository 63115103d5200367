"""Committed batch histories replay against the current batch workflows; an unversioned change fails.

Before the `batch-reduce-child` patch: the parent (reducing by itself), a shard's first run that
continued as new, its last run. After it: the parent with a `BatchReduce` child, that child's first
run (continued as new) and its last run; the same child with its steps in a sliding window; and the
parent whose child starts with the analysis (`batch-reduce-overlap`), with that child's runs, and
its shard with two micro-batches in flight (`shard-window`). Apart: a parent that stopped at its
budget and went on after a raise (`batch-budget`), and one that reduced by itself and put the
batch's spending in the report footer (`batch-usage-footer`, recorded by the code before
`batch-reduce-child`).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer
from temporalio.workflow import NondeterminismError

from orchestration.payloads.converter import data_converter
from orchestration.shared import names
from orchestration.shared.batch import BatchInput, BatchResult, ShardInput, ShardProgress
from orchestration.workflows import BatchJobWorkflow, BatchReduceWorkflow, BatchShardWorkflow
from orchestration.workflows.options import CallOptions
from tests.conftest import make_settings

HISTORIES = sorted((Path(__file__).parents[3] / "histories" / "batch").glob("*.json"))
# Child ids derive from the parent's id: replay under the recorded ids (tests/histories/record_batch.py).
_IDS = {
    "batch_parent": "history-batch",
    "batch_shard_first_run": "history-batch/shard-0",
    "batch_shard_last_run": "history-batch/shard-0",
    "batch_parent_bounded": "history-batch-v2",
    "batch_reduce_first_run": "history-batch-v2/reduce-0",
    "batch_reduce_last_run": "history-batch-v2/reduce-0",
    "batch_reduce_window_first_run": "history-batch-v2/reduce-0",
    "batch_reduce_window_last_run": "history-batch-v2/reduce-0",
    "batch_parent_overlap": "history-batch-v3",
    "batch_reduce_overlap_first_run": "history-batch-v3/reduce-0",
    "batch_reduce_overlap_last_run": "history-batch-v3/reduce-0",
    "batch_shard_window_first_run": "history-batch-v3/shard-0",
    "batch_shard_window_last_run": "history-batch-v3/shard-0",
    "batch_parent_budget": "history-batch-v3-budget",
    "batch_parent_usage_footer": "history-batch",
}
_WORKFLOWS = [BatchJobWorkflow, BatchShardWorkflow, BatchReduceWorkflow]


def _load(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(_IDS[path.stem], path.read_text())


def test_batch_histories_are_committed() -> None:
    assert {p.stem for p in HISTORIES} == set(_IDS)


@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: p.stem)
async def test_batch_history_replays_cleanly(path: Path, tmp_path: Path) -> None:
    replayer = Replayer(workflows=_WORKFLOWS, data_converter=data_converter(make_settings(tmp_path)))
    await replayer.replay_workflow(_load(path))


@workflow.defn(name=names.BATCH_WORKFLOW)
class _ReduceFirst(BatchJobWorkflow):
    """Reduces before analysing, without `workflow.patched()`: replay must refuse it."""

    @workflow.run
    async def run(self, inp: BatchInput) -> BatchResult:
        return await super().run(inp)

    async def _lifecycle(self) -> None:
        await self._reduce_in_parent()
        await self._shards.analyse(self._s.shards, retry=False)


async def _refused(parent: type, stem: str, home: Path, shard: type = BatchShardWorkflow) -> None:
    """Replaying the committed history `stem` with `parent` as the batch workflow (and `shard` as the
    shard's) must fail as nondeterministic."""
    replayer = Replayer(
        workflows=[parent, shard, BatchReduceWorkflow], data_converter=data_converter(make_settings(home))
    )
    with pytest.raises(NondeterminismError):
        await replayer.replay_workflow(_load(next(p for p in HISTORIES if p.stem == stem)))


async def test_reordered_batch_is_nondeterministic(tmp_path: Path) -> None:
    await _refused(_ReduceFirst, "batch_parent", tmp_path)


@workflow.defn(name=names.BATCH_WORKFLOW)
class _ReducesItself(BatchJobWorkflow):
    """Runs the tree in the parent again, ignoring the patch: the bounded parent's history must refuse it."""

    @workflow.run
    async def run(self, inp: BatchInput) -> BatchResult:
        return await super().run(inp)

    async def _reduce_tree(self) -> None:
        await self._reduce_in_parent()


async def test_bounded_parent_refuses_the_parent_reducing_itself(tmp_path: Path) -> None:
    await _refused(_ReducesItself, "batch_parent_bounded", tmp_path)


@workflow.defn(name=names.BATCH_WORKFLOW)
class _ReducesAfterTheAnalysis(BatchJobWorkflow):
    """Starts the tree after the analysis again, ignoring `batch-reduce-overlap`: that history must refuse it."""

    @workflow.run
    async def run(self, inp: BatchInput) -> BatchResult:
        return await super().run(inp)

    def _overlaps(self) -> bool:
        return False


async def test_overlapped_parent_refuses_the_tree_after_the_analysis(tmp_path: Path) -> None:
    await _refused(_ReducesAfterTheAnalysis, "batch_parent_overlap", tmp_path)


@workflow.defn(name=names.SHARD_WORKFLOW)
class _OneAtATime(BatchShardWorkflow):
    """Runs its micro-batches one at a time again, ignoring `shard-window`: that history must refuse it."""

    @workflow.run
    async def run(self, inp: ShardInput) -> ShardProgress:
        return await super().run(inp)

    async def _windowed(self, opts: CallOptions, window: int) -> None:
        await super()._windowed(opts, 1)


async def test_windowed_shard_refuses_one_micro_batch_at_a_time(tmp_path: Path) -> None:
    await _refused(BatchJobWorkflow, "batch_shard_window_first_run", tmp_path, shard=_OneAtATime)
