"""Workers for the three task queues (workflows, reasoning, io), with graceful drain."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import signal
from collections.abc import Iterable
from datetime import timedelta
from enum import StrEnum

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from temporalio.client import Client
from temporalio.worker import Worker

from orchestration.activities import WorkerDeps, io_activities, reasoning_activities
from orchestration.shared.messages import TaskQueues
from orchestration.workflows import WORKFLOWS


class Queue(StrEnum):
    """The roles a worker process can serve (`worker --queue ...`); values are the names users type."""

    WORKFLOWS = "workflows"
    REASONING = "reasoning"
    IO = "io"


ALL_QUEUES: tuple[Queue, ...] = tuple(Queue)


class WorkerSettings(BaseSettings):
    """Per-process worker tuning; env prefix DURABLE_RESEARCH_WORKER_."""

    model_config = SettingsConfigDict(env_prefix="DURABLE_RESEARCH_WORKER_", extra="ignore")

    reasoning_concurrency: int = Field(default=8, ge=1)
    io_concurrency: int = Field(default=4, ge=1)
    # The SDK's 10 s default is how long a dead worker's sticky workflow task waits
    # before another worker takes it; 3 s moves a crashed worker's job on quickly.
    sticky_timeout_s: float = Field(default=3.0, gt=0)
    graceful_shutdown_s: float = Field(default=30.0, ge=0)


def build_workers(
    client: Client,
    deps: WorkerDeps,
    *,
    queues: TaskQueues,
    settings: WorkerSettings,
    run: Iterable[Queue | str] = ALL_QUEUES,
    executor: concurrent.futures.Executor | None = None,
) -> list[Worker]:
    """One `Worker` per task queue this process serves."""
    run = set(run)
    sticky = timedelta(seconds=settings.sticky_timeout_s)
    graceful = timedelta(seconds=settings.graceful_shutdown_s)
    workers: list[Worker] = []
    if "workflows" in run:
        workers.append(
            Worker(
                client, task_queue=queues.workflows, workflows=WORKFLOWS,
                sticky_queue_schedule_to_start_timeout=sticky, graceful_shutdown_timeout=graceful,
            )
        )  # fmt: skip
    if "reasoning" in run:
        workers.append(
            Worker(
                client, task_queue=queues.reasoning, activities=reasoning_activities(deps),
                max_concurrent_activities=settings.reasoning_concurrency,
                graceful_shutdown_timeout=graceful,
            )
        )  # fmt: skip
    if "io" in run:
        workers.append(
            Worker(
                client, task_queue=queues.io, activities=io_activities(deps),
                activity_executor=executor
                or concurrent.futures.ThreadPoolExecutor(settings.io_concurrency),
                max_concurrent_activities=settings.io_concurrency,
                graceful_shutdown_timeout=graceful,
            )
        )  # fmt: skip
    return workers


class WorkerGroup:
    """Runs several workers as one: `async with WorkerGroup(workers):` or `start()`/`stop()`.

    Stopping drains: no new tasks are polled and in-flight activities get up to the
    graceful-shutdown timeout to finish before they are cancelled.
    """

    def __init__(self, workers: list[Worker]) -> None:
        self.workers = workers
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run_all())

    async def _run_all(self) -> None:
        await asyncio.gather(*(w.run() for w in self.workers))

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def wait(self) -> None:
        """Return when every worker has stopped (a fatal worker error is raised here)."""
        if self._task is not None:
            await asyncio.shield(self._task)

    async def stop(self) -> None:
        if self._task is None:
            return
        await asyncio.gather(*(w.shutdown() for w in self.workers), return_exceptions=True)
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def __aenter__(self) -> WorkerGroup:
        self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


async def serve_until_signalled(group: WorkerGroup) -> None:
    """Run until SIGTERM/SIGINT, then drain (the CLI's `worker` command)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    group.start()
    stopper = asyncio.create_task(stop.wait())
    workers = asyncio.create_task(group.wait())
    await asyncio.wait({workers, stopper}, return_when=asyncio.FIRST_COMPLETED)
    stopper.cancel()
    workers.cancel()  # only this waiter: the group itself is shielded and drains below
    await group.stop()  # re-raises a worker's fatal error
