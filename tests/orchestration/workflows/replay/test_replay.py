"""Committed histories replay against the current workflow code with the project's converter; a reordered
workflow fails. They were recorded without encryption: a converter with a key ring must replay them too."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.converter import DataConverter
from temporalio.worker import Replayer
from temporalio.workflow import NondeterminismError

from orchestration.payloads.codec import new_key_ring, write_key_ring
from orchestration.payloads.converter import data_converter
from orchestration.shared import JobInput, JobResult, names
from orchestration.workflows import ResearchJobWorkflow
from tests.conftest import make_settings

HISTORIES = sorted((Path(__file__).parents[3] / "histories").glob("*.json"))


def _converter(home: Path, *, encrypted: bool) -> DataConverter:
    key_file = None
    if encrypted:
        key_file = home / "keys.json"
        write_key_ring(key_file, new_key_ring())
    return data_converter(make_settings(home, payload_key_file=key_file))


def _load(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(path.stem, path.read_text())


def test_histories_are_committed() -> None:
    assert {p.stem for p in HISTORIES} >= {"auto_approve", "revise_then_approve", "rejected", "watched_events"}


@pytest.mark.parametrize("encrypted", [False, True], ids=["plain", "key-configured"])
@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: p.stem)
async def test_replays_cleanly(path: Path, encrypted: bool, tmp_path: Path) -> None:
    replayer = Replayer(workflows=[ResearchJobWorkflow], data_converter=_converter(tmp_path, encrypted=encrypted))
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


async def test_reordered_workflow_is_nondeterministic(tmp_path: Path) -> None:
    replayer = Replayer(workflows=[_PlanBeforeIngest], data_converter=_converter(tmp_path, encrypted=False))
    with pytest.raises(NondeterminismError):
        await replayer.replay_workflow(_load(HISTORIES[0]))
