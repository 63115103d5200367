"""Committed batch histories (parent, a shard's first run that continued as new, its last run)
replay against the current batch workflows; an unversioned reordering fails."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer
from temporalio.workflow import NondeterminismError

from orchestration.converter import data_converter
from orchestration.shared import names
from orchestration.shared.batch import BatchInput, BatchResult
from orchestration.workflows import BatchJobWorkflow, BatchShardWorkflow
from tests.conftest import make_settings

HISTORIES = sorted((Path(__file__).parents[1] / "histories" / "batch").glob("*.json"))


def _load(path: Path) -> WorkflowHistory:
    # Child ids derive from the parent's id: replay under the recorded ids (tests/histories/record_batch.py).
    workflow_id = "history-batch" if path.stem == "batch_parent" else "history-batch/shard-0"
    return WorkflowHistory.from_json(workflow_id, path.read_text())


def test_batch_histories_are_committed() -> None:
    assert {p.stem for p in HISTORIES} == {"batch_parent", "batch_shard_first_run", "batch_shard_last_run"}


@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: p.stem)
async def test_batch_history_replays_cleanly(path: Path, tmp_path: Path) -> None:
    replayer = Replayer(
        workflows=[BatchJobWorkflow, BatchShardWorkflow], data_converter=data_converter(make_settings(tmp_path))
    )
    await replayer.replay_workflow(_load(path))


@workflow.defn(name=names.BATCH_WORKFLOW)
class _ReduceFirst(BatchJobWorkflow):
    """Reduces before analysing, without `workflow.patched()`: replay must refuse it."""

    @workflow.run
    async def run(self, inp: BatchInput) -> BatchResult:
        return await super().run(inp)

    async def _lifecycle(self) -> None:
        await self._reduce()
        await self._analyse(self._s.shards, retry=False)


async def test_reordered_batch_is_nondeterministic(tmp_path: Path) -> None:
    replayer = Replayer(
        workflows=[_ReduceFirst, BatchShardWorkflow], data_converter=data_converter(make_settings(tmp_path))
    )
    parent = next(p for p in HISTORIES if p.stem == "batch_parent")
    with pytest.raises(NondeterminismError):
        await replayer.replay_workflow(_load(parent))
