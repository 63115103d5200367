"""The budget history replays with its patch; with the patch's branch removed it does not, so the
committed history does guard the accounting and budget code."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer
from temporalio.workflow import NondeterminismError

from orchestration.payloads.converter import data_converter
from orchestration.shared import JobInput, JobResult, names
from orchestration.workflows import ResearchJobWorkflow
from tests.conftest import make_settings

HISTORY = Path(__file__).parents[3] / "histories" / "budget_raised.json"


def _history() -> WorkflowHistory:
    return WorkflowHistory.from_json(HISTORY.stem, HISTORY.read_text())


def test_history_took_the_patched_path() -> None:
    markers, updates = [], []
    for event in _history().events:
        if event.HasField("marker_recorded_event_attributes"):
            details = event.marker_recorded_event_attributes.details
            markers += [p.data for v in details.values() for p in v.payloads]
        if event.HasField("workflow_execution_update_accepted_event_attributes"):
            updates.append(event.workflow_execution_update_accepted_event_attributes.accepted_request.input.name)
    assert any(b'"usage-accounting-and-budgets"' in m for m in markers)
    assert updates == ["raise_budget", "raise_budget"]


@workflow.defn(name=names.WORKFLOW)
class _NoBudgets(ResearchJobWorkflow):
    """The same workflow with budgets ignored: it would start subtasks the history never scheduled."""

    @workflow.run
    async def run(self, inp: JobInput) -> JobResult:
        return await super().run(inp)

    def _budget_spent(self) -> str | None:
        return None


async def test_replays_with_budgets(tmp_path: Path) -> None:
    replayer = Replayer(workflows=[ResearchJobWorkflow], data_converter=data_converter(make_settings(tmp_path)))
    await replayer.replay_workflow(_history())


async def test_ignoring_the_budget_is_nondeterministic(tmp_path: Path) -> None:
    replayer = Replayer(workflows=[_NoBudgets], data_converter=data_converter(make_settings(tmp_path)))
    with pytest.raises(NondeterminismError):
        await replayer.replay_workflow(_history())
