"""Shared helpers for batch tests: small generated corpora, in-process workers, a started batch."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from orchestration.activities import WorkerDeps
from orchestration.batch_client import BatchClient, BatchHandle
from orchestration.edge.batch import start_batch
from orchestration.shared.batch import BatchSpec
from orchestration.shared.messages import Tuning
from orchestration.worker import WorkerGroup, WorkerSettings, build_workers
from tests.support.jobs import make_deps, unique_queues

_TOPICS = ("workflows", "activities", "heartbeats", "retries", "graphs", "checkpoints", "collections", "queries")


def write_corpus(folder: Path, count: int, *, fail_marker: set[int] | None = None) -> Path:
    """`count` small distinct Markdown documents; those in `fail_marker` contain FAIL-ME."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        topic = _TOPICS[i % len(_TOPICS)]
        marker = " FAIL-ME" if fail_marker and i in fail_marker else ""
        (folder / f"doc-{i:05d}.md").write_text(
            f"# Note {i}\n\nDocument {i} explains {topic} in a durable system.{marker} "
            f"The {topic} of item {i} are stored with a content hash. "
            f"A retry of item {i} never duplicates its {topic}.\n",
            encoding="utf-8",
        )
    return folder


def small_spec(**overrides: Any) -> BatchSpec:
    """Small shards and micro-batches, so a few dozen documents exercise every level."""
    base: dict[str, Any] = {
        "model": {"provider": "fake"},
        "parallelism": 2,
        "micro_batch": 4,
        "shard_size": 10,
        "reduce_fanin": 4,
    }
    base.update(overrides)
    return BatchSpec.model_validate(base)


@contextlib.asynccontextmanager
async def batch_workers(
    client: Client,
    home: Path,
    *,
    deps: WorkerDeps | None = None,
    tuning: Tuning | None = None,
    batch_processes: int = 0,
) -> AsyncIterator[tuple[BatchClient, WorkerDeps]]:
    """Workers in this process. Documents are analysed in it too unless `batch_processes` says
    otherwise: the test graphs (batch_graphs.py) keep their switch and run counts here."""
    deps = deps or make_deps(home)
    queues = unique_queues()
    settings = WorkerSettings(graceful_shutdown_s=2, batch_processes=batch_processes)
    workers = build_workers(client, deps, queues=queues, settings=settings)
    async with WorkerGroup(workers):
        yield BatchClient(client, queues=queues, tuning=tuning or Tuning(retry_initial_s=0.2)), deps


async def start(
    batches: BatchClient, deps: WorkerDeps, spec: BatchSpec, sources: list[str], job_id: str
) -> BatchHandle:
    handle, _ = await start_batch(
        batches, spec, sources, store=deps.artifacts, memory=deps.memory_settings, registry=deps.registry,
        job_id=job_id,
    )  # fmt: skip
    return handle


def records(deps: WorkerDeps, job_id: str) -> list[dict[str, Any]]:
    """Every document record of a batch, in manifest order."""
    store = deps.artifacts
    return [json.loads(store.get_text(k)) for k in store.keys(f"jobs/{job_id}/docs")]


def result_files(deps: WorkerDeps, job_id: str) -> list[str]:
    return deps.artifacts.keys(f"jobs/{job_id}/results")


async def refusal(call: Any) -> str:
    """The message an update validator refused `call` with (it must be refused)."""
    from temporalio.client import WorkflowUpdateFailedError

    try:
        await call
    except WorkflowUpdateFailedError as exc:
        return str(getattr(exc.cause, "message", exc.cause))
    raise AssertionError("the update was accepted; it should have been refused")


async def runs_of(client: Client, workflow_id: str) -> tuple[list[int], list[EventType.ValueType]]:
    """History length and last event type of every run of `workflow_id`, oldest first."""
    runs = []
    async for wf in client.list_workflows(f'WorkflowId="{workflow_id}"'):
        history = await client.get_workflow_handle(workflow_id, run_id=wf.run_id).fetch_history()
        runs.append((wf.start_time, len(history.events), history.events[-1].event_type))
    runs.sort()
    return [n for _, n, _ in runs], [t for _, _, t in runs]


CONTINUED = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
COMPLETED = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED
