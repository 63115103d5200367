"""A research job whose subtasks use deep-researcher@1: tools chosen per kind, a tool the workflow runs
as its own activity, and a question the graph asks a person, answered through the `answer` update."""

from __future__ import annotations

import asyncio
from pathlib import Path

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from orchestration.job_stream import JobStream
from orchestration.shared import names
from tests.support import tool_fixtures
from tests.support.jobs import running_jobs, spec

DEEP = {"graphs": {"research": "deep-researcher@1"}, "max_subtasks": 1, "validation_rounds": 0}


async def _activity_types(handle: object) -> list[str]:
    history = await handle.handle.fetch_history()  # type: ignore[attr-defined]
    return [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]


async def test_a_tool_the_workflow_runs_as_an_activity(temporal_client: Client, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    runs = tmp_path / "tool-runs.jsonl"
    monkeypatch.setenv(tool_fixtures.RUNS_FILE, str(runs))
    async with running_jobs(temporal_client, tmp_path) as jobs:
        handle = await jobs.start(spec(**DEEP, tools={"research": ["search_memory", "lookup_ticket"]}))
        result = await asyncio.wait_for(handle.result(), 120)

    assert result.status == "completed" and result.report is not None
    types = await _activity_types(handle)
    assert types.count(names.RUN_TOOL) == 1 and types.count(names.RUN_SUBTASK) == 2  # stopped once, went on
    assert len(runs.read_text().splitlines()) == 1  # the tool ran once, in its own activity
    task = result.subtasks[0]
    assert task.steps == 1 and task.result is not None and task.result.tool_calls >= 2
    report = jobs.artifacts.get_text(result.report.key)
    assert "tracker:42" in report, "the ticket the lifted tool read is not cited"


async def test_a_question_to_a_person_waits_for_the_answer_update(temporal_client: Client, tmp_path: Path) -> None:
    async with running_jobs(temporal_client, tmp_path) as jobs:
        handle = await jobs.start(spec(**DEEP, tools={"research": ["search_memory", "ask_person"]}))
        for _ in range(600):
            progress = await handle.progress()
            asking = [t for t in progress.subtasks if t.question is not None]
            if asking:
                break
            await asyncio.sleep(0.05)
        assert asking and asking[0].question.tool == "ask_person"  # type: ignore[union-attr]
        await handle.answer("The 1.2 release, please.", by="tester")
        result = await asyncio.wait_for(handle.result(), 120)

        events = [item.event async for item in JobStream(temporal_client, handle.job_id).events(0, interval_s=0.1)]

    assert result.status == "completed"
    assert result.subtasks[0].steps == 1 and result.subtasks[0].question is None
    asked = [(e.phase, e.detail) for e in events if e.kind == "question"]
    assert asked[0][0] == "asked" and "ask_person" in asked[0][1] and asked[1] == ("answered", "by tester")
    tools = [e for e in events if e.kind == "tool_call"]
    assert {e.tool for e in tools} >= {"search_memory", "ask_person"} and all(e.attempt >= 1 for e in tools)
