"""What a job's live event stream costs in Temporal: stream items, publish signals, watcher
polls and history events per job, and signals per reasoning activity.

Run: ``.venv/bin/python -m experiments.benchmarks.events_bench [--latency 0.1] [--subtasks 3]``.

One research job (fake model, `--latency` seconds per call, the test corpus, no approval
wait) runs on a private dev server with an in-process worker while one watcher reads its
stream live (`JobStream`: by query, so it should add nothing to the history; the poll
updates are counted to show it). Counted from the job's history: the publish signals (one
per batch of an activity: at most one a second while it runs, and one at its end), update
events and all events; from the stream: its items by kind. `--no-watch` reads the stream
only after the job ended.
"""

from __future__ import annotations

import asyncio
import collections
import tempfile
import time
from pathlib import Path

import typer
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from experiments.benchmarks.private_server import private_server
from orchestration.activities import WorkerDeps
from orchestration.client import ResearchClient
from orchestration.job_stream import JobStream, OffsetEvent
from orchestration.shared.messages import TaskQueues
from orchestration.worker import WorkerGroup, WorkerSettings, build_workers
from reasoning import default_registry
from reasoning.models import ModelSettings
from reasoning.runner import CheckpointConfig
from retrieval import MemorySettings

_PUBLISH = "__temporal_workflow_stream_publish"
CORPUS = str(Path(__file__).parents[2] / "tests" / "data" / "corpus")


async def measure(client: Client, home: Path, latency: float, subtasks: int, watch: bool = True) -> dict[str, object]:
    home.mkdir(parents=True)
    deps = WorkerDeps(
        home=home, memory_settings=MemorySettings(mode="memory"),
        model_settings=ModelSettings(provider="fake", fake_latency_s=latency), registry=default_registry,
        checkpoint=CheckpointConfig(sqlite_dir=home / "checkpoints"),
    )  # fmt: skip
    queues = TaskQueues(workflows="bench-wf", reasoning="bench-rs", io="bench-io")
    async with WorkerGroup(build_workers(client, deps, queues=queues, settings=WorkerSettings())):
        jobs = ResearchClient(client, queues=queues)
        started = time.perf_counter()
        handle = await jobs.start(
            {
                "question": "How do Temporal and LangGraph make long AI jobs durable?",
                "corpus": [CORPUS], "model": {"provider": "fake"}, "max_subtasks": subtasks, "parallelism": 2,
                "validation_rounds": 0, "approval": {"required": False},
            }
        )  # fmt: skip
        if watch:
            items = [i async for i in JobStream(client, handle.job_id).events(0) if isinstance(i, OffsetEvent)]
        await handle.result()
        if not watch:  # read after the job ended: by query, no poll in its history
            items = [i async for i in JobStream(client, handle.job_id).events(0) if isinstance(i, OffsetEvent)]
        seconds = time.perf_counter() - started
        history = await handle.handle.fetch_history()
    kinds = collections.Counter(i.event.kind for i in items)
    types = collections.Counter(EventType.Name(e.event_type) for e in history.events)
    signals = sum(
        e.workflow_execution_signaled_event_attributes.signal_name == _PUBLISH
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
    )
    activities = types["EVENT_TYPE_ACTIVITY_TASK_SCHEDULED"]
    polls = types["EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED"]
    return {
        "seconds": round(seconds, 2),
        "stream_items": len(items),
        "items_by_kind": dict(kinds),
        "history_events": len(history.events),
        "publish_signals": signals,
        "activities": activities,
        "watcher_polls": polls,
        "signal_and_poll_events": signals + 2 * polls,
    }


async def main(latency: float, subtasks: int, watch: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        async with private_server(home / "server") as (client, _):
            out = await measure(client, home / "job", latency, subtasks, watch)
    watcher = f"a live watcher polled {out['watcher_polls']} times" if watch else "no live watcher"
    print(
        f"events: {out['stream_items']} stream items in {out['publish_signals']} publish signals over "
        f"{out['activities']} activities; {watcher}; {out['signal_and_poll_events']} signal and poll events "
        f"of {out['history_events']} in history; job {out['seconds']} s (fake model {latency} s per call, "
        f"{subtasks} subtasks)"
    )
    print(f"items by kind: {out['items_by_kind']}")


app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


@app.command(help=__doc__.split("\n")[0])
def bench(
    latency: float = typer.Option(0.1, "--latency", min=0.0, help="Fake model seconds per call."),
    subtasks: int = typer.Option(3, "--subtasks", min=1),
    watch: bool = typer.Option(True, "--watch/--no-watch", help="Read the stream live (polls) or after the job."),
) -> None:
    asyncio.run(main(latency, subtasks, watch))


if __name__ == "__main__":
    app()
