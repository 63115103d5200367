"""Cancellation reaches in-flight graphs through heartbeats, keeps partial results, and
still runs the publish compensations."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from orchestration.client import JobEndedError
from orchestration.shared import Tuning
from reasoning.models import read_call_log
from tests.support.jobs import make_deps, running_jobs, spec, wait_for_phase
from tests.support.webhook import webhook


async def test_cancel_mid_subtask(temporal_client: Client, tmp_path: Path) -> None:
    deps = make_deps(tmp_path, latency_s=0.5)
    # Cancellation rides on heartbeat responses, which the SDK throttles to 80% of the
    # heartbeat timeout: a short timeout makes the graph see the cancel quickly.
    tuning = Tuning(heartbeat_timeout_s=1.0, retry_initial_s=0.2)
    async with running_jobs(temporal_client, tmp_path, deps=deps, tuning=tuning) as jobs:
        handle = await jobs.start(spec(max_subtasks=3, parallelism=1))
        async for p in handle.watch(interval_s=0.1):
            if p.done >= 1 and any(t.status == "running" and t.node for t in p.subtasks):
                break
        await handle.cancel()
        with pytest.raises(JobEndedError, match="cancelled") as ended:
            await handle.result()
        ended_at = time.time()
        await asyncio.sleep(1.5)
    # A sync model call already under way finishes in its thread (the fake logs at the
    # end of a call); what must not happen is a call *starting* after the cancel landed.
    started_late = [c for c in read_call_log(tmp_path / "calls.jsonl") if c["time"] - 0.5 > ended_at + 0.1]
    assert started_late == [], "the graph kept running after it was cancelled"

    state = ended.value.state
    assert state is not None and state.phase == "cancelled"
    statuses = [t.status for t in state.subtasks]
    assert "done" in statuses and "cancelled" in statuses
    assert all(t.result is not None for t in state.subtasks if t.status == "done")
    history = await handle.handle.fetch_history()
    kinds = [e.event_type for e in history.events]
    assert EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED in kinds  # the graph acknowledged it
    assert kinds[-1] == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED


async def test_cancel_during_publish_compensates(temporal_client: Client, tmp_path: Path) -> None:
    deps = make_deps(tmp_path)
    with webhook(default=503) as hook:
        async with running_jobs(temporal_client, tmp_path, deps=deps) as jobs:
            handle = await jobs.start(spec(publish={"webhook_url": hook.url}))
            while not hook.received:
                await wait_for_phase(handle, "publishing")
            hook.default = 200
            await handle.cancel()
            with pytest.raises(JobEndedError, match="cancelled") as ended:
                await handle.result()
    state = ended.value.state
    assert state is not None and state.phase == "cancelled"
    assert [p.step for p in state.published] == ["artifact", "index"]
    assert len(state.compensated) == 3
    assert deps.memory("research-reports").count(where={"report_of": handle.job_id}) == 0
