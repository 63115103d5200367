"""The A2/A3 activity: run the workload through the project's ``reasoning.runner``.

This is the project's own design card under test: the whole graph is one activity,
heartbeating per finished node (and on a timer, since one model call can outlast a
heartbeat), in `restart` mode (A2) or `resume` mode (A3, SQLite checkpoints keyed by
workflow id and activity id, so a retry finds exactly its predecessor's thread).
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict
from temporalio import activity

from experiments.recovery.graph_exec import storage_bytes
from experiments.recovery.models import TemporalRunRequest, TemporalRunResult
from experiments.recovery.probes import probe
from experiments.recovery.workflows import RUN_GRAPH_ACTIVITY
from experiments.recovery.workload import (
    QUESTION,
    RunContext,
    answer_hash,
    build_graph,
    search_retriever,
    stub_model,
)


class WorkloadInput(BaseModel):
    """The workload graph's input."""

    question: str = QUESTION


class WorkloadOutput(BaseModel):
    """The part of the final state a run reports (the rest is ignored)."""

    model_config = ConfigDict(extra="ignore")
    answer: str
    loops: int = 0
    memory_notes: int = 0


def _spec() -> Any:
    from reasoning.registry import GraphSpec

    return GraphSpec(
        name="recovery-workload",
        version="1",
        factory=build_graph,
        input_model=WorkloadInput,
        output_model=WorkloadOutput,
        description="The recovery experiment's workload (plan, retrieve, fan-out, critique).",
    )


async def _heartbeat_forever(period_s: float) -> None:
    # One model call can outlast the heartbeat timeout; a timer keeps the lease alive.
    while True:
        activity.heartbeat()
        await asyncio.sleep(period_s)


@activity.defn(name=RUN_GRAPH_ACTIVITY)
async def run_graph(request: TemporalRunRequest) -> TemporalRunResult:
    """Run the graph; in `resume` mode a retry continues from the previous attempt's checkpoint."""
    from reasoning.context import GraphContext
    from reasoning.runner import CheckpointConfig, arun_graph

    info = activity.info()
    context: RunContext = request.context  # type: ignore[assignment]
    await asyncio.to_thread(probe, context["events"], "attempt_start", context["run"], attempt=info.attempt)
    path = Path(request.checkpoint_dir) / f"{info.workflow_id}.sqlite"
    checkpoint = CheckpointConfig(sqlite_path=path) if request.mode == "resume" else None
    graph_context = GraphContext(
        retriever=search_retriever(context), model=stub_model(context), params={"run": context}
    )
    beat = asyncio.create_task(_heartbeat_forever(max(0.1, request.heartbeat_s / 4)))
    try:
        result = await arun_graph(
            _spec(),
            WorkloadInput(),
            context=graph_context,
            mode=request.mode,
            thread_id=f"{info.workflow_id}/{info.activity_id}",
            checkpoint=checkpoint,
            on_node=lambda event: activity.heartbeat(event.node),
        )
    finally:
        beat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beat
    return TemporalRunResult(
        answer_hash=answer_hash(result.output["answer"]),
        resumed=result.resumed,
        attempt=info.attempt,
        loops=int(result.output.get("loops", 0)),
        memory_notes=int(result.output.get("memory_notes", 0)),
        checkpoint_bytes=storage_bytes(str(path) if checkpoint else None),
    )
