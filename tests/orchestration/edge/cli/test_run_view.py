"""`run`'s live view follows the job's event stream: it shows every event once, every subtask's nodes, and the tally."""

from __future__ import annotations

from pathlib import Path

from temporalio.client import Client

from orchestration.edge.cli.run_view import follow_run
from orchestration.edge.event_view import tally_line
from orchestration.job_stream import JobStream, OffsetEvent
from orchestration.shared.events import EventTally
from tests.support.jobs import running_jobs, spec


async def test_the_run_view_shows_the_whole_stream(temporal_client: Client, tmp_path: Path) -> None:
    async with running_jobs(temporal_client, tmp_path) as jobs:
        handle = await jobs.start(spec(validation_rounds=0))
        view = await follow_run(handle, JobStream(temporal_client, handle.job_id), live=False)
        result = await handle.result()
        events = [
            i.event async for i in JobStream(temporal_client, handle.job_id).events(0) if isinstance(i, OffsetEvent)
        ]

    assert view is not None, "the stream was readable: no fallback to polling"
    assert view.progress is not None and view.progress.phase == "completed"
    assert view.shown == len(events)  # every event once, none twice
    tally = EventTally()
    for event in events:
        tally.add(event)
    assert tally_line(view.shown, view.tally) == tally_line(len(events), tally)
    # Every subtask's graph ran to its last node, and the view saw it (polling showed at most the first).
    assert {s: node for s, (node, _) in view.nodes.items()} == {
        t.ref.id: t.result.nodes_run[-1] for t in result.subtasks if t.result
    }
    assert view.tally.total("model_calls") == result.usage.model_calls
    rendered = "\n".join(str(part) for part in view.render().renderables)
    assert tally_line(len(events), tally) in rendered
