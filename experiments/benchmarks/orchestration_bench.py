"""Orchestration benchmark: per-subtask overhead against a bare no-op activity, aggregate
activity throughput with the fake model, and recovery latency from kill to next model call.

Run: ``.venv/bin/python -m experiments.benchmarks.orchestration_bench``.

1. Overhead: one workflow runs N activities back to back. Baseline: ``bench.noop`` (same
   payload, does nothing). Measured: ``reasoning.run_subtask`` (the real activity:
   registry lookup, graph build, runner, heartbeats, artifact write) running a one-node
   graph with the fake model and no retrieval, so the ratio isolates our orchestration
   from the work a graph does. Both in the same run, same server, interleaved twice.
2. Throughput: W workflows each fan out M ``reasoning.run_subtask`` activities at once
   (fake model, the same one-node graph); activities/s over the whole batch.
3. Recovery: a worker process running a resume-mode researcher graph (fake model,
   0.5 s per call) is SIGKILLed right after a model call; a standby worker takes over.
   Kill -> first model call that starts after it, from the fake's call log.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import typer
from langgraph.graph import END, START, StateGraph
from temporalio.client import Client
from temporalio.worker import Worker

from experiments.benchmarks.bench_workflows import Chain, ChainWorkflow, noop
from experiments.benchmarks.private_server import private_server
from orchestration.activities import WorkerDeps, reasoning_activities
from orchestration.settings import OrchestrationSettings
from orchestration.shared.messages import SubtaskRef, SubtaskRequest
from orchestration.shared.spec import ModelChoice
from reasoning.registry import GraphRegistry
from reasoning.types import Finding, ResearchInput


def _registry() -> GraphRegistry:
    registry = GraphRegistry()

    @registry.register("bench-one-node", "1", input_model=ResearchInput, output_model=Finding)
    def make() -> StateGraph:  # type: ignore[type-arg]
        def answer(state: dict[str, Any]) -> dict[str, Any]:
            sub = state["subtask"]
            return {"subtask_id": sub["id"] if isinstance(sub, dict) else sub.id,
                    "question": "q", "answer": "a", "claims": [], "citations": []}  # fmt: skip

        graph = StateGraph(dict)  # type: ignore[type-var]
        graph.add_node("answer", answer)
        graph.add_edge(START, "answer")
        graph.add_edge("answer", END)
        return graph

    return registry


async def _chain(client: Client, queue: str, activity: str, count: int, parallel: bool = False) -> float:
    request = SubtaskRequest(
        job_id="bench", graph="bench-one-node@1", model=ModelChoice(provider="fake"),
        subtask=SubtaskRef(id="s", kind="research", question="q"),
    )  # fmt: skip
    started = time.perf_counter()
    await client.execute_workflow(
        ChainWorkflow.run,
        Chain(activity=activity, task_queue=queue, count=count, parallel=parallel, request=request),
        id=f"bench-{uuid.uuid4().hex[:8]}",
        task_queue=queue,
    )
    return time.perf_counter() - started


async def overhead_and_throughput(client: Client, home: Path, n: int, workflows: int, fanout: int) -> None:
    from reasoning.models import ModelSettings
    from reasoning.runner import CheckpointConfig
    from retrieval import MemorySettings

    deps = WorkerDeps(
        home=home, memory_settings=MemorySettings(mode="memory"),
        model_settings=ModelSettings(provider="fake"), registry=_registry(),
        checkpoint=CheckpointConfig(sqlite_path=home / "cp.sqlite"),
    )  # fmt: skip
    queue = f"bench-{uuid.uuid4().hex[:6]}"
    async with Worker(
        client, task_queue=queue, workflows=[ChainWorkflow],
        activities=[noop, *reasoning_activities(deps)], max_concurrent_activities=64,
    ):  # fmt: skip
        await _chain(client, queue, "bench.noop", 5)  # warm up
        await _chain(client, queue, "reasoning.run_subtask", 5)
        base, ours = [], []
        for _ in range(2):
            base.append(await _chain(client, queue, "bench.noop", n) / n)
            ours.append(await _chain(client, queue, "reasoning.run_subtask", n) / n)
        b, o = statistics.median(base), statistics.median(ours)
        print(f"overhead: no-op activity {b * 1000:.1f} ms, run_subtask {o * 1000:.1f} ms "
              f"per subtask (sequential, n={n}); ratio {o / b:.2f}x (goal <= 1.3x)")  # fmt: skip

        total = workflows * fanout
        for activity in ("bench.noop", "reasoning.run_subtask"):
            started = time.perf_counter()
            await asyncio.gather(*(_chain(client, queue, activity, fanout, parallel=True) for _ in range(workflows)))
            elapsed = time.perf_counter() - started
            print(f"throughput {activity}: {total} activities in {elapsed:.2f} s = {total / elapsed:.0f}/s "
                  f"({workflows} workflows x {fanout} in parallel; goal for run_subtask >= 120/s)")  # fmt: skip


def _worker(env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "orchestration.edge.cli.main", "worker"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


async def recovery(client: Client, address: str, home: Path, heartbeat_s: float) -> None:
    from orchestration.client import ResearchClient
    from orchestration.shared import Tuning
    from reasoning.models import read_call_log

    latency = 0.5
    prefix = f"rec-{uuid.uuid4().hex[:6]}-"
    log = home / "calls.jsonl"
    env = os.environ | {
        "TEMPORAL_ADDRESS": address, "DURABLE_RESEARCH_HOME": str(home),
        "DURABLE_RESEARCH_TASK_QUEUE_PREFIX": prefix, "DURABLE_RESEARCH_MEMORY_MODE": "memory",
        "DURABLE_RESEARCH_MODEL_FAKE_LATENCY_S": str(latency), "DURABLE_RESEARCH_MODEL_FAKE_CALL_LOG": str(log),
    }  # fmt: skip
    settings = OrchestrationSettings(task_queue_prefix=prefix, home=home)
    jobs = ResearchClient(client, queues=settings.task_queues(), tuning=Tuning(heartbeat_timeout_s=heartbeat_s))
    home.mkdir(parents=True, exist_ok=True)
    first, standby = _worker(env), _worker(env)
    try:
        spec = {"question": "How does Temporal recover a crashed worker?", "model": {"provider": "fake"},
                "max_subtasks": 1, "approval": {"required": False}, "recovery": "resume",
                "publish": {"index_memory": False}}  # fmt: skip
        handle = await jobs.start(spec)
        while not (calls := [c for c in read_call_log(log) if c.get("node") in ("read", "draft")]):
            await asyncio.sleep(0.02)
        # Kill whichever worker runs the graph (the fake logs its pid), right after a call.
        killed_at = time.time()
        os.kill(calls[0]["pid"], signal.SIGKILL)
        await handle.result()
        later = [c["time"] - latency for c in read_call_log(log) if c["time"] - latency > killed_at]
        gap = min(later) - killed_at
        print(f"recovery: kill -> next model call {gap:.2f} s (heartbeat timeout {heartbeat_s:.1f} s; "
              f"goal <= {heartbeat_s + 1.5:.1f} s)")  # fmt: skip
    finally:
        for proc in (first, standby):
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=20)


async def main(n: int = 100, workflows: int = 4, fanout: int = 100, heartbeat: float = 2.0) -> None:
    """Start a private dev server and run the three measurements."""
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        async with private_server(home / "server") as (client, record):
            await overhead_and_throughput(client, home / "a", n, workflows, fanout)
            await recovery(client, record.address, home / "b", heartbeat)


app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


@app.command(help=__doc__.split("\n")[0])
def bench(
    n: int = typer.Option(100, "--n", min=1, help="Sequential activities per measurement."),
    workflows: int = typer.Option(4, "--workflows", min=1),
    fanout: int = typer.Option(100, "--fanout", min=1),
    heartbeat: float = typer.Option(2.0, "--heartbeat", min=0.1),
) -> None:
    asyncio.run(main(n, workflows, fanout, heartbeat))


if __name__ == "__main__":
    app()
