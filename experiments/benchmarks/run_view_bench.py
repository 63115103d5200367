"""What `run`'s live view shows of a job: polling progress (before) against following the event stream (now).

Run: ``.venv/bin/python -m experiments.benchmarks.run_view_bench [--latency 0.2] [--subtasks 3]``.

One research job (fake model, `--latency` seconds per call, the test corpus, no approval
wait) runs on a private dev server with an in-process worker, watched at once by both
views without a terminal: the progress poll (`job_support.watch_progress`'s loop: progress
with heartbeat nodes every 0.5 s) and `run_view.RunView` over the job's stream. Counted:
the (subtask, node) pairs each view put on screen, against the nodes the subtasks ran (from
their results), and the lines the stream view showed.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

import typer
from temporalio.client import Client

from experiments.benchmarks.private_server import private_server
from orchestration.activities import WorkerDeps
from orchestration.client import JobHandle, ResearchClient
from orchestration.edge.cli.run_view import RunView
from orchestration.job_stream import JobStream, OffsetEvent
from orchestration.shared.messages import TaskQueues
from orchestration.worker import WorkerGroup, WorkerSettings, build_workers
from reasoning import default_registry
from reasoning.models import ModelSettings
from reasoning.runner import CheckpointConfig
from retrieval import MemorySettings

CORPUS = str(Path(__file__).parents[2] / "tests" / "data" / "corpus")


async def _polled(handle: JobHandle) -> tuple[set[tuple[str, str]], int]:
    seen: set[tuple[str, str]] = set()
    polls = 0
    async for progress in handle.watch(interval_s=0.5):
        polls += 1
        seen |= {(t.ref.id, t.node) for t in progress.subtasks if t.status == "running" and t.node}
    return seen, polls


async def _streamed(client: Client, handle: JobHandle) -> tuple[set[tuple[str, str]], int]:
    view = RunView(handle)
    seen: set[tuple[str, str]] = set()
    async for item in JobStream(client, handle.job_id).events(0):
        if isinstance(item, OffsetEvent):
            view.apply(item.event)
            seen |= {(subtask, node) for subtask, (node, _) in view.nodes.items()}
    return seen, view.shown


async def measure(client: Client, home: Path, latency: float, subtasks: int) -> dict[str, object]:
    home.mkdir(parents=True)
    deps = WorkerDeps(
        home=home, memory_settings=MemorySettings(mode="memory"),
        model_settings=ModelSettings(provider="fake", fake_latency_s=latency), registry=default_registry,
        checkpoint=CheckpointConfig(sqlite_dir=home / "checkpoints"),
    )  # fmt: skip
    queues = TaskQueues(workflows="rv-wf", reasoning="rv-rs", io="rv-io")
    async with WorkerGroup(build_workers(client, deps, queues=queues, settings=WorkerSettings())):
        jobs = ResearchClient(client, queues=queues)
        handle = await jobs.start(
            {
                "question": "How do Temporal and LangGraph make long AI jobs durable?",
                "corpus": [CORPUS], "model": {"provider": "fake"}, "max_subtasks": subtasks, "parallelism": 2,
                "validation_rounds": 0, "approval": {"required": False},
            }
        )  # fmt: skip
        (polled, polls), (streamed, lines) = await asyncio.gather(_polled(handle), _streamed(client, handle))
        result = await handle.result()
    ran = {(t.ref.id, n) for t in result.subtasks if t.result for n in t.result.nodes_run}
    return {
        "subtask_nodes_run": len(ran),
        "shown_by_polling": len(polled & ran),
        "polls": polls,
        "shown_by_stream": len(streamed & ran),
        "stream_lines": lines,
    }


def main(latency: float = 0.2, subtasks: int = 3) -> None:
    async def go() -> dict[str, object]:
        with tempfile.TemporaryDirectory() as tmp:
            async with private_server(Path(tmp) / "server") as (client, _):
                return await measure(client, Path(tmp) / "job", latency, subtasks)

    print(asyncio.run(go()))


if __name__ == "__main__":
    typer.run(main)
