"""The workload as a graph the product's ``reasoning.run_subtask`` activity can run (A2, A3).

The product hands a registered graph a ``ResearchInput`` and expects a ``Finding`` back.
The workload takes the subtask (its id is the run, its question the question; the
workload has no second round, so validator notes are not read) and its final state
is read as a Finding: the answer, the analysts' notes as claims, the retrieved
passages as evidence. The graph, its probes and its side effects are the workload's;
the activity, heartbeats, checkpointer, model client and artifact write are the product's.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, model_validator

from experiments.recovery.memory import doc_id
from experiments.recovery.workload import build_graph
from reasoning.registry import GraphRegistry, GraphSpec
from reasoning.types import Evidence, Finding, Subtask

WORKLOAD_GRAPH = "recovery-workload@1"
SUBTASK_KIND = "recovery"
# The product opens a memory handle per call; the workload keeps its own per-run memory
# (identical in every arm), so one collection serves every run of a worker.
COLLECTION = "recovery-workload"


class WorkloadSubtask(BaseModel):
    """The part of ``ResearchInput`` the workload reads (extra fields, e.g. notes, are dropped)."""

    subtask: Subtask


class WorkloadFinding(Finding):
    """The workload's final state read as the product's ``Finding``."""

    @model_validator(mode="before")
    @classmethod
    def _from_state(cls, data: Any) -> Any:
        if not isinstance(data, dict) or "subtask_id" in data:
            return data
        notes: dict[str, str] = data.get("notes") or {}
        passages = list(data.get("evidence") or [])[:-1]  # the last item is the reader's pick
        return {
            "subtask_id": data["subtask"]["id"],
            "question": data["question"],
            "answer": data["answer"],
            "claims": [{"text": f"{aspect}: {notes[aspect]}"} for aspect in sorted(notes)],
            "citations": [],
            "evidence": [Evidence(chunk_id=doc_id(p), source="recovery-corpus", text=p).model_dump() for p in passages],
            "provider": "recovery-stub",
        }


def workload_spec() -> GraphSpec:
    """The workload registered under :data:`WORKLOAD_GRAPH`."""
    name, version = WORKLOAD_GRAPH.split("@")
    return GraphSpec(
        name=name,
        version=version,
        # Whatever the product passes its factories (a context, or nothing), the graph is the same.
        factory=lambda *_: build_graph(),
        input_model=WorkloadSubtask,
        output_model=WorkloadFinding,
        description="The recovery experiment's workload (plan, retrieve, fan-out, remember, critique).",
    )


def workload_registry() -> GraphRegistry:
    """A registry holding only the workload: what an A2/A3 worker serves."""
    registry = GraphRegistry()
    registry.add(workload_spec())
    return registry
