"""Committed histories replay against the current workflow code; a reordered workflow fails."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer
from temporalio.workflow import NondeterminismError

from orchestration.shared import JobInput, JobResult, names
from orchestration.workflows import ResearchJobWorkflow

HISTORIES = sorted((Path(__file__).parents[1] / "histories").glob("*.json"))


def _load(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(path.stem, path.read_text())


def test_histories_are_committed() -> None:
    assert {p.stem for p in HISTORIES} >= {"auto_approve", "revise_then_approve", "rejected"}


@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: p.stem)
async def test_replays_cleanly(path: Path) -> None:
    replayer = Replayer(workflows=[ResearchJobWorkflow], data_converter=pydantic_data_converter)
    await replayer.replay_workflow(_load(path))


@workflow.defn(name=names.WORKFLOW)
class _PlanBeforeIngest(ResearchJobWorkflow):
    """An edit that swaps two steps without `workflow.patched()`: replay must refuse it."""

    @workflow.run
    async def run(self, inp: JobInput) -> JobResult:
        return await super().run(inp)

    async def _lifecycle(self) -> None:
        s = self._state
        await self._plan()
        await self._ingest()
        s.phase = "researching"
        await self._research()


async def test_reordered_workflow_is_nondeterministic() -> None:
    replayer = Replayer(workflows=[_PlanBeforeIngest], data_converter=pydantic_data_converter)
    with pytest.raises(NondeterminismError):
        await replayer.replay_workflow(_load(HISTORIES[0]))
