"""The lifted-steps history replays with its patch (a tool run as its own activity, a person's answer);
a workflow that took a graph's pending step for its result does not, so the history guards the loop."""

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
from orchestration.workflows.patches import LIFTED_STEPS as LIFTED_STEPS_PATCH
from tests.conftest import make_settings

HISTORY = Path(__file__).parents[3] / "histories" / "lifted_steps.json"


def _history() -> WorkflowHistory:
    return WorkflowHistory.from_json(HISTORY.stem, HISTORY.read_text())


def test_history_took_both_kinds_of_step() -> None:
    types = [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in _history().events
        if e.HasField("activity_task_scheduled_event_attributes")
    ]
    updates = [
        e.workflow_execution_update_accepted_event_attributes.accepted_request.input.name
        for e in _history().events
        if e.HasField("workflow_execution_update_accepted_event_attributes")
    ]
    markers = [
        p.data
        for e in _history().events
        if e.HasField("marker_recorded_event_attributes")
        for v in e.marker_recorded_event_attributes.details.values()
        for p in v.payloads
    ]
    assert types.count(names.RUN_TOOL) == 1 and types.count(names.RUN_SUBTASK) == 3  # two steps, three segments
    assert "answer" in updates
    assert any(f'"{LIFTED_STEPS_PATCH}"'.encode() in m for m in markers)


@workflow.defn(name=names.WORKFLOW)
class _StepsIgnored(ResearchJobWorkflow):
    """The workflow as before lifted steps: a graph activity's result is final, pending or not."""

    @workflow.init
    def __init__(self, inp: JobInput) -> None:
        super().__init__(inp)
        self._pool._steps = None

    @workflow.run
    async def run(self, inp: JobInput) -> JobResult:
        return await super().run(inp)


async def test_replays_with_lifted_steps(tmp_path: Path) -> None:
    replayer = Replayer(workflows=[ResearchJobWorkflow], data_converter=data_converter(make_settings(tmp_path)))
    await replayer.replay_workflow(_history())


async def test_ignoring_a_pending_step_is_nondeterministic(tmp_path: Path) -> None:
    replayer = Replayer(workflows=[_StepsIgnored], data_converter=data_converter(make_settings(tmp_path)))
    with pytest.raises(NondeterminismError):
        await replayer.replay_workflow(_history())
