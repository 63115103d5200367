"""Shared helpers for research-job tests: in-process workers over a private state folder."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from temporalio.client import Client

from orchestration.activities import WorkerDeps
from orchestration.client import ResearchClient
from orchestration.edge.preflight import check_spec
from orchestration.shared.messages import TaskQueues, Tuning
from orchestration.worker import WorkerGroup, WorkerSettings, build_workers

# Relative to the repository root (where pytest runs), so recorded histories hold no
# machine-specific path.
CORPUS = "tests/data/corpus"


def make_deps(home: Path, *, latency_s: float = 0.0, memory: str = "memory") -> WorkerDeps:
    from reasoning import default_registry
    from reasoning.models import ModelSettings
    from reasoning.runner import CheckpointConfig
    from retrieval import MemorySettings

    home.mkdir(parents=True, exist_ok=True)
    return WorkerDeps(
        home=home,
        memory_settings=MemorySettings(mode=memory, chunk_size=400, chunk_overlap=40),  # type: ignore[arg-type]
        model_settings=ModelSettings(provider="fake", fake_latency_s=latency_s, fake_call_log=home / "calls.jsonl"),
        registry=default_registry,
        checkpoint=CheckpointConfig(sqlite_dir=home / "checkpoints"),
    )


def unique_queues() -> TaskQueues:
    tag = uuid.uuid4().hex[:8]
    return TaskQueues(workflows=f"wf-{tag}", reasoning=f"rs-{tag}", io=f"io-{tag}")


def spec(**overrides: Any) -> dict[str, Any]:
    """A small job on the test corpus with the fake model and no approval wait."""
    base: dict[str, Any] = {
        "question": "How do Temporal and LangGraph make long AI jobs durable?",
        "corpus": [CORPUS],
        "model": {"provider": "fake"},
        "max_subtasks": 3,
        "approval": {"required": False},
    }
    base.update(overrides)
    return base


@contextlib.asynccontextmanager
async def running_jobs(
    client: Client, home: Path, *, deps: WorkerDeps | None = None, tuning: Tuning | None = None
) -> AsyncIterator[ResearchClient]:
    """Workers for all three queues in this process, and a ResearchClient pointing at them."""
    deps = deps or make_deps(home)
    queues = unique_queues()
    workers = build_workers(client, deps, queues=queues, settings=WorkerSettings(graceful_shutdown_s=2))
    async with WorkerGroup(workers):
        yield ResearchClient(
            client,
            queues=queues,
            tuning=tuning or Tuning(retry_initial_s=0.2),
            artifacts=deps.artifacts,
            preflight=check_spec,
        )


async def wait_for_phase(handle: Any, *phases: str, timeout_s: float = 60) -> Any:
    """Poll progress until the job reaches one of `phases`; return that progress."""
    import asyncio

    async def poll() -> Any:
        async for progress in handle.watch(interval_s=0.1):
            if progress.phase in phases:
                return progress
        raise AssertionError(f"job ended without reaching {phases}")

    return await asyncio.wait_for(poll(), timeout_s)
