"""The single adapter between Temporal and the domain packages (reasoning, retrieval)."""

from __future__ import annotations

import importlib
from typing import Any

from orchestration.activities.batch_acts import BatchActivities
from orchestration.activities.deps import CheckpointSettings, WorkerDeps
from orchestration.activities.io_acts import IoActivities
from orchestration.activities.reasoning_acts import ReasoningActivities


def reasoning_activities(deps: WorkerDeps) -> list[Any]:
    # Commands that never open a store skip chromadb (seconds to import); a worker will open
    # one, so it pays the import here, before it polls, not inside its first activity.
    importlib.import_module("retrieval.chroma_store")
    acts = ReasoningActivities(deps)
    return [acts.plan, acts.run_subtask, acts.validate, acts.write_report, *BatchActivities(deps).all()]


def io_activities(deps: WorkerDeps) -> list[Any]:
    return [*IoActivities(deps).all(), BatchActivities(deps).write_manifest]


__all__ = [
    "BatchActivities",
    "CheckpointSettings",
    "IoActivities",
    "ReasoningActivities",
    "WorkerDeps",
    "io_activities",
    "reasoning_activities",
]
