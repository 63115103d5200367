"""The failed-subtask history replays with its patch; ignoring a failed subtask's usage does not, so the
committed history guards the accounting of failed attempts (their usage decided the budget stop)."""

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
from orchestration.workflows.patches import USAGE_OF_FAILED_SUBTASKS as FAILED_USAGE_PATCH
from tests.conftest import make_settings

HISTORY = Path(__file__).parents[3] / "histories" / "failed_subtask_usage.json"


def _history() -> WorkflowHistory:
    return WorkflowHistory.from_json(HISTORY.stem, HISTORY.read_text())


def test_history_took_the_patched_path() -> None:
    markers = []
    for event in _history().events:
        if event.HasField("marker_recorded_event_attributes"):
            details = event.marker_recorded_event_attributes.details
            markers += [p.data for v in details.values() for p in v.payloads]
    assert any(f'"{FAILED_USAGE_PATCH}"'.encode() in m for m in markers)


@workflow.defn(name=names.WORKFLOW)
class _FailuresCostNothing(ResearchJobWorkflow):
    """The workflow as before the ledger: a failed subtask's usage is dropped, so its budget is not spent."""

    @workflow.init
    def __init__(self, inp: JobInput) -> None:
        super().__init__(inp)
        self._pool._account_failure = lambda task, err: None  # type: ignore[method-assign]

    @workflow.run
    async def run(self, inp: JobInput) -> JobResult:
        return await super().run(inp)


async def test_replays_with_failed_subtask_usage(tmp_path: Path) -> None:
    replayer = Replayer(workflows=[ResearchJobWorkflow], data_converter=data_converter(make_settings(tmp_path)))
    await replayer.replay_workflow(_history())


async def test_dropping_a_failed_subtasks_usage_is_nondeterministic(tmp_path: Path) -> None:
    replayer = Replayer(workflows=[_FailuresCostNothing], data_converter=data_converter(make_settings(tmp_path)))
    with pytest.raises(NondeterminismError):
        await replayer.replay_workflow(_history())
