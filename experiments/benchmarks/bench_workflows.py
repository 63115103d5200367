"""Workflows and activities used only by the orchestration benchmark."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from pydantic import BaseModel
from temporalio import activity, workflow

with workflow.unsafe.imports_passed_through():
    from orchestration.shared.messages import SubtaskRequest, SubtaskResult


class Chain(BaseModel):
    """Run `count` activities of one kind back to back (sequential), all at once (parallel), or
    `window` at a time (parallel with a window: a new one starts as soon as one ends)."""

    activity: str
    task_queue: str
    count: int
    parallel: bool = False
    window: int | None = None
    request: SubtaskRequest | None = None


@activity.defn(name="bench.noop")
async def noop(req: SubtaskRequest) -> SubtaskResult:
    """The baseline: a Temporal activity that takes the same payload and does nothing."""
    return SubtaskResult(subtask_id=req.subtask.id, finding_key="", summary="")


@workflow.defn(name="bench.Chain")
class ChainWorkflow:
    @workflow.run
    async def run(self, chain: Chain) -> int:
        def one(i: int) -> Any:
            assert chain.request is not None
            req = chain.request.model_copy(update={"subtask": chain.request.subtask.model_copy(update={"id": f"s{i}"})})
            return workflow.execute_activity(
                chain.activity,
                req,
                task_queue=chain.task_queue,
                start_to_close_timeout=timedelta(minutes=2),
                heartbeat_timeout=timedelta(seconds=30),
                activity_id=f"a{i}",
                result_type=SubtaskResult,
            )

        if chain.parallel and chain.window:
            running: set[Any] = set()
            for i in range(chain.count):
                if len(running) >= chain.window:
                    done, left = await workflow.wait(running, return_when=asyncio.FIRST_COMPLETED)
                    for finished in done:
                        finished.result()  # a failed activity fails the run, as in the other modes
                    running = set(left)
                running.add(asyncio.ensure_future(one(i)))
            await asyncio.gather(*running)
        elif chain.parallel:
            await asyncio.gather(*(one(i) for i in range(chain.count)))
        else:
            for i in range(chain.count):
                await one(i)
        return chain.count
