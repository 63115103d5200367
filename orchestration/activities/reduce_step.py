"""One reduce step's work: read at most R analyses and run the reduce graph over them.

Synchronous over picklable inputs, like `batch_documents`, so the reduce activity runs it
in the worker's document pool (a batch's tree has one step per R documents: on one core
they were a fifth of a 10,000-document batch) or in a thread. The activity keeps the
rest: pricing, the reduction artifact, the report.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from orchestration.activities.batch_documents import CallRecorder, read_record
from orchestration.activities.errors import portable_failure
from orchestration.artifacts import LocalArtifactStore
from orchestration.shared.usage import CallCounts
from reasoning.batch_runner import GraphOverInputs
from reasoning.models import ModelSettings
from reasoning.registry import GraphSpec
from reasoning.types import DocumentAnalysis, SynthesisInput


@dataclass(frozen=True)
class ReduceTask:
    """A step's inputs: earlier reductions' `keys`, or (level 0) the records of manifest entries [start, end)."""

    job_id: str
    spec: GraphSpec
    model: ModelSettings
    artifacts_root: Path
    keys: list[str]
    start: int
    end: int
    question: str
    notes: str


@dataclass
class ReduceOutput:
    """The reduced analysis (None: no input had a result), the run's model calls and tokens,
    its calls and nodes for the worker's metrics, or the failure that stopped it (as plain data:
    it may cross from a pool process; `errors.from_portable` makes it an ApplicationError again)."""

    analysis: DocumentAnalysis | None = None
    documents: int = 0
    counts: CallCounts = field(default_factory=CallCounts)
    calls: list[tuple[str, int, int]] = field(default_factory=list)
    nodes: list[tuple[str, float, bool]] = field(default_factory=list)
    failure: dict[str, object] | None = None


def reduce_group(task: ReduceTask, runner: GraphOverInputs) -> ReduceOutput:
    """Run the step; a failure comes back in the output."""
    recorder = CallRecorder()
    runner.observe(recorder)
    meter = runner.meter
    before = CallCounts.of(meter)
    try:
        parts = read_parts(LocalArtifactStore(task.artifacts_root), task)
        if not parts:
            return ReduceOutput()
        synthesis = SynthesisInput(question=task.question, parts=parts, notes=task.notes)
        analysis = DocumentAnalysis.model_validate(runner.invoke(synthesis))
    except Exception as exc:
        return ReduceOutput(failure=portable_failure(exc))
    analysis.documents = sum(p.documents for p in parts)
    return ReduceOutput(analysis, analysis.documents, CallCounts.of(meter) - before, recorder.calls, recorder.nodes)


def read_parts(store: LocalArtifactStore, task: ReduceTask) -> list[DocumentAnalysis]:
    """The step's analyses; at level 0 each distinct result once (equal documents share one)."""
    if task.keys:
        return [DocumentAnalysis.model_validate_json(store.get_text(k)) for k in task.keys]
    seen: set[str] = set()
    parts = []
    for index in range(task.start, task.end):
        record = read_record(store, task.job_id, index)
        if not record or not record.ok or record.result in seen:
            continue
        seen.add(record.result)
        parts.append(DocumentAnalysis.model_validate(json.loads(store.get_text(record.result))["analysis"]))
    return parts
