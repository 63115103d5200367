"""The single adapter between Temporal and the domain packages (reasoning, retrieval)."""

from __future__ import annotations

import importlib
from typing import Any

from orchestration.activities.batch_acts import BatchActivities
from orchestration.activities.batch_documents import DOC_THREADS, MAX_DOC_THREADS
from orchestration.activities.deps import CheckpointSettings, WorkerDeps
from orchestration.activities.doc_pool import pool_size
from orchestration.activities.io_acts import IoActivities
from orchestration.activities.reasoning_acts import ReasoningActivities


def reasoning_activities(
    deps: WorkerDeps, batch_processes: int = 0, *, warm_pool: bool = False, doc_threads: int = 1
) -> list[Any]:
    """The reasoning queue's activities; a batch's documents go to a pool of `batch_processes`
    (`warm_pool`: started now, not with the first micro-batch), `doc_threads` at a time in each."""
    # Commands that never open a store skip chromadb (seconds to import); a worker will open
    # one, so it pays the import here, before it polls, not inside its first activity.
    importlib.import_module("retrieval.chroma_store")
    acts = ReasoningActivities(deps)
    batch = BatchActivities(deps, processes=batch_processes, warm=warm_pool, doc_threads=doc_threads)
    return [acts.plan, acts.run_subtask, acts.run_tool, acts.validate, acts.write_report, *batch.all()]


def io_activities(deps: WorkerDeps) -> list[Any]:
    return [*IoActivities(deps).all(), BatchActivities(deps).write_manifest]


__all__ = [
    "DOC_THREADS",
    "MAX_DOC_THREADS",
    "BatchActivities",
    "CheckpointSettings",
    "IoActivities",
    "ReasoningActivities",
    "WorkerDeps",
    "io_activities",
    "pool_size",
    "reasoning_activities",
]
