"""The A2/A3 activity: run the whole workload graph, heartbeating while it works."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from temporalio import activity

from experiments.recovery.graph_exec import run_graph_once, storage_bytes
from experiments.recovery.models import TemporalRunRequest, TemporalRunResult
from experiments.recovery.probes import probe
from experiments.recovery.workflows import RUN_GRAPH_ACTIVITY
from experiments.recovery.workload import RunContext, answer_hash


async def _heartbeat_forever(period_s: float) -> None:
    # Model calls block a worker thread, not this loop, so a timer keeps the lease alive.
    while True:
        activity.heartbeat()
        await asyncio.sleep(period_s)


@activity.defn(name=RUN_GRAPH_ACTIVITY)
async def run_graph(request: TemporalRunRequest) -> TemporalRunResult:
    """Run the graph; in `resume` mode a retry continues from the attempt's SQLite checkpoint.

    The checkpoint is keyed by workflow id and activity id, so a retry of the same
    activity finds the thread its previous attempt left, and nothing else does.
    """
    info = activity.info()
    context: RunContext = request.context  # type: ignore[assignment]
    await asyncio.to_thread(probe, context["events"], "attempt_start", context["run"], attempt=info.attempt)
    path = None
    if request.mode == "resume":
        path = str(Path(request.checkpoint_dir) / f"{info.workflow_id}.sqlite")
    beat = asyncio.create_task(_heartbeat_forever(max(0.1, request.heartbeat_s / 4)))
    try:
        out, resumed = await asyncio.to_thread(
            run_graph_once,
            context,
            mode=request.mode,
            checkpoint_path=path,
            thread_id=f"{info.workflow_id}/{info.activity_id}",
            durability=request.durability,
        )
    finally:
        beat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beat
    return TemporalRunResult(
        answer_hash=answer_hash(out["answer"]),
        resumed=resumed,
        attempt=info.attempt,
        loops=int(out.get("loops", 0)),
        memory_notes=int(out.get("memory_notes", 0)),
        checkpoint_bytes=storage_bytes(path),
    )
