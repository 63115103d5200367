"""Where Temporal's crash-detection time goes: the wait before an activity retry, and a heartbeat timeout.

Run: ``.venv/bin/python -m experiments.benchmarks.retry_latency``.

1. Retry wait: an activity fails on its first attempt; the time from the failure to the start
   of attempt 2, for several retry ``initial_interval`` values. On the dev server we ship
   (server 1.32) every interval up to 1 s gives 1 s, which is why the recovery experiment's
   Temporal arms detect a crash ~1 s later than the heartbeat timeout alone would say.
2. Heartbeat timeout: a worker process running a heartbeating activity is SIGKILLed; a
   standby worker in this process takes the retry. Kill -> attempt 2 scheduled (the timeout
   fired) and kill -> attempt 2 running, read from the workflow's pending activity.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import typer
from temporalio import activity, workflow
from temporalio.api.enums.v1 import PendingActivityState
from temporalio.client import Client, WorkflowHandle
from temporalio.common import RetryPolicy
from temporalio.worker import Worker

from orchestration.payloads.converter import data_converter
from orchestration.server import EmbeddedServer
from orchestration.settings import OrchestrationSettings


@dataclass
class Probe:
    """One activity run: fail once or heartbeat for a while, retried after `initial_s`."""

    mode: str  # "fail_once" | "heartbeat"
    initial_s: float
    heartbeat_s: float = 2.0


@activity.defn(name="retry_latency.work")
async def work(probe: Probe) -> float:
    """Return when this attempt started; attempt 1 fails (fail_once) or beats until killed."""
    started = time.time()
    if probe.mode == "fail_once" and activity.info().attempt == 1:
        raise RuntimeError(f"failed at {time.time()!r}")
    if probe.mode == "heartbeat" and activity.info().attempt == 1:
        while True:  # until the worker process is killed
            activity.heartbeat()
            await asyncio.sleep(0.25)
    return started


@workflow.defn(name="retry_latency.Probe")
class ProbeWorkflow:
    @workflow.run
    async def run(self, probe: Probe) -> float:
        return await workflow.execute_activity(
            work,
            probe,
            start_to_close_timeout=timedelta(minutes=2),
            heartbeat_timeout=timedelta(seconds=probe.heartbeat_s),
            retry_policy=RetryPolicy(initial_interval=timedelta(seconds=probe.initial_s), backoff_coefficient=1.0),
        )


def _worker(client: Client, queue: str) -> Worker:
    return Worker(client, task_queue=queue, workflows=[ProbeWorkflow], activities=[work])


async def retry_wait(client: Client, queue: str, initial_s: float) -> float:
    """Seconds from attempt 1's failure to attempt 2's start."""
    handle = await client.start_workflow(
        ProbeWorkflow.run, Probe("fail_once", initial_s), id=f"retry-{uuid.uuid4()}", task_queue=queue
    )
    second_start = await handle.result()
    failure = ""
    async for event in handle.fetch_history_events():
        if event.HasField("activity_task_started_event_attributes"):
            failure = event.activity_task_started_event_attributes.last_failure.message
    return second_start - float(failure.removeprefix("failed at "))


async def _pending(handle: WorkflowHandle[ProbeWorkflow, float]) -> tuple[int, int]:
    """(attempt, state) of the workflow's one activity; (0, 0) before it is scheduled."""
    pending = (await handle.describe()).raw_description.pending_activities
    return (pending[0].attempt, pending[0].state) if pending else (0, 0)


async def heartbeat_kill(client: Client, address: str, queue: str, heartbeat_s: float) -> tuple[float, float]:
    """Kill the worker running attempt 1; (kill -> attempt 2 scheduled, kill -> attempt 2 running)."""
    victim = subprocess.Popen(
        [sys.executable, "-m", "experiments.benchmarks.retry_latency", "worker", address, queue],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert victim.stdout is not None and victim.stdout.readline().strip() == "ready"
        handle = await client.start_workflow(
            ProbeWorkflow.run, Probe("heartbeat", 0.2, heartbeat_s), id=f"hb-{uuid.uuid4()}", task_queue=queue
        )
        while (await _pending(handle))[1] != PendingActivityState.PENDING_ACTIVITY_STATE_STARTED:
            await asyncio.sleep(0.02)
        async with _worker(client, queue):  # the standby that takes the retry
            await asyncio.sleep(random.uniform(0.5, 2.5))  # somewhere between two heartbeats
            killed = time.time()
            os.kill(victim.pid, signal.SIGKILL)
            while (await _pending(handle))[0] < 2:  # attempt 2 appears when the timeout fires
                if time.time() - killed > 30:
                    raise RuntimeError(f"no retry 30 s after killing the worker of {handle.id}")
                await asyncio.sleep(0.02)
            scheduled = time.time() - killed
            running = await handle.result() - killed  # attempt 2 returns the time it started
        return scheduled, running
    finally:
        victim.kill()
        victim.communicate()  # reaps it and closes its stdout pipe


async def run(address: str, intervals: list[float], repeats: int, kills: int, heartbeat_s: float) -> dict[str, object]:
    client = await Client.connect(address, data_converter=data_converter(OrchestrationSettings()))
    queue = f"retry-latency-{uuid.uuid4().hex[:8]}"
    waits: dict[float, float] = {}
    async with _worker(client, queue):
        for initial_s in intervals:
            waits[initial_s] = statistics.median([await retry_wait(client, queue, initial_s) for _ in range(repeats)])
            print(f"retry wait: initial_interval {initial_s:.2f} s -> attempt 2 starts {waits[initial_s]:.2f} s "
                  f"after the failure (median of {repeats})", flush=True)  # fmt: skip
    timings = [await heartbeat_kill(client, address, queue, heartbeat_s) for _ in range(kills)]
    fired = statistics.median(t[0] for t in timings)
    running = statistics.median(t[1] for t in timings)
    print(f"heartbeat timeout {heartbeat_s:.1f} s, SIGKILLed worker: kill -> timeout fired {fired:.2f} s, "
          f"kill -> attempt 2 running {running:.2f} s (median of {kills})", flush=True)  # fmt: skip
    return {"retry_wait_s": waits, "timeout_fired_s": fired, "attempt2_running_s": running}


async def _serve(address: str, queue: str) -> None:
    client = await Client.connect(address, data_converter=data_converter(OrchestrationSettings()))
    async with _worker(client, queue):
        print("ready", flush=True)
        await asyncio.Event().wait()


app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


def _floats(values: list[str]) -> list[float]:
    """Accept `--intervals 0.05,0.2` and `--intervals 0.05 --intervals 0.2`."""
    try:
        return [float(v) for value in values for v in value.split(",") if v.strip()]
    except ValueError as exc:
        raise typer.BadParameter(f"{values!r} is not a list of seconds, e.g. 0.05,0.2,1.0") from exc


@app.command(help=__doc__.split("\n")[0])
def bench(
    intervals: list[str] = typer.Option(["0.05,0.2,0.5,1.0,1.5"], "--intervals", help="Retry initial intervals, s."),
    repeats: int = typer.Option(3, "--repeats", min=1),
    kills: int = typer.Option(6, "--kills", min=0),
    heartbeat: float = typer.Option(2.0, "--heartbeat", min=0.1),
) -> None:
    seconds = _floats(intervals)  # refused before the server starts
    # Attempt 1 of every retry probe fails on purpose; its traceback is noise here.
    logging.getLogger("temporalio.activity").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp:
        settings = OrchestrationSettings(home=Path(tmp), temporal_port=0, ui_port=0, temporal_address=None)
        server = EmbeddedServer(settings)
        record = server.ensure_started()
        try:
            asyncio.run(run(record.address, seconds, repeats, kills, heartbeat))
        finally:
            server.stop()


def main() -> None:
    # The worker this benchmark starts and SIGKILLs re-runs this module as `worker ADDRESS QUEUE`.
    if sys.argv[1:2] == ["worker"]:
        asyncio.run(_serve(sys.argv[2], sys.argv[3]))
        return
    app()


if __name__ == "__main__":
    main()
