"""Workers for the three task queues (workflows, reasoning, io), with graceful drain."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import signal
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import timedelta
from enum import StrEnum
from typing import TypeVar

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from temporalio.client import Client
from temporalio.worker import Worker

from orchestration.activities import (
    DOC_THREADS,
    MAX_DOC_THREADS,
    WorkerDeps,
    io_activities,
    pool_size,
    reasoning_activities,
)
from orchestration.errors import ServerError, ServerUnreachableError
from orchestration.shared.messages import TaskQueues
from orchestration.workflows import WORKFLOWS


class Queue(StrEnum):
    """The roles a worker process can serve (`worker --queue ...`); values are the names users type."""

    WORKFLOWS = "workflows"
    REASONING = "reasoning"
    IO = "io"


ALL_QUEUES: tuple[Queue, ...] = tuple(Queue)
_T = TypeVar("_T")
_log = logging.getLogger("durable_research.worker")

# What "the server is not there (yet)" looks like: `client.connect` raises ServerError
# (wrapping the SDK's "Failed client connect"), the SDK itself RuntimeError ("Worker
# validation failed"), and an auto-started embedded server may still be starting
# (PortInUseError, ServerStartError, ServerUnhealthyError are ServerErrors too).
_UNREACHABLE = (RuntimeError, ServerError)


class WorkerSettings(BaseSettings):
    """Per-process worker tuning; env prefix DURABLE_RESEARCH_WORKER_."""

    model_config = SettingsConfigDict(env_prefix="DURABLE_RESEARCH_WORKER_", extra="ignore")

    reasoning_concurrency: int = Field(default=8, ge=1)
    io_concurrency: int = Field(default=4, ge=1)
    # The SDK's 10 s default is how long a dead worker's sticky workflow task waits
    # before another worker takes it; 3 s moves a crashed worker's job on quickly.
    sticky_timeout_s: float = Field(default=3.0, gt=0)
    graceful_shutdown_s: float = Field(default=30.0, ge=0)
    # A worker started while the server restarts (after a crash, a deploy) waits for it
    # instead of dying; past this window it exits with one clear message.
    connect_retry_s: float = Field(default=300.0, ge=0)
    connect_backoff_max_s: float = Field(default=5.0, gt=0)
    # Processes that run a batch's per-document graphs (pure Python: one process holds one
    # core). None: one per usable CPU when there are several; 0: in the worker's process.
    batch_processes: int | None = Field(default=None, ge=0)
    # Documents of one group a pool process (or the worker's thread) analyses at once, in threads:
    # a model call waits on the network with the GIL released, so a real model's batch would
    # otherwise analyse only `batch_processes` documents at a time whatever the batch's parallelism.
    batch_doc_threads: int = Field(default=DOC_THREADS, ge=1, le=MAX_DOC_THREADS)


def build_workers(
    client: Client,
    deps: WorkerDeps,
    *,
    queues: TaskQueues,
    settings: WorkerSettings,
    run: Iterable[Queue | str] = ALL_QUEUES,
    executor: concurrent.futures.Executor | None = None,
    warm_pool: bool = False,
    nexus_service_handlers: Sequence[object] = (),
) -> list[Worker]:
    """One `Worker` per task queue this process serves (`warm_pool`: start the batch document
    pool's processes now, as a dedicated worker should, instead of with the first micro-batch).

    `nexus_service_handlers` (the edge's `DurableResearchV1` service) are served on the workflows
    queue, where a Nexus endpoint points: beside the workflows, or alone when `run` leaves them out.
    """
    run = set(run)
    sticky = timedelta(seconds=settings.sticky_timeout_s)
    graceful = timedelta(seconds=settings.graceful_shutdown_s)
    workers: list[Worker] = []
    if "workflows" in run or nexus_service_handlers:
        workers.append(
            Worker(
                client, task_queue=queues.workflows, workflows=WORKFLOWS if "workflows" in run else [],
                nexus_service_handlers=nexus_service_handlers,
                sticky_queue_schedule_to_start_timeout=sticky, graceful_shutdown_timeout=graceful,
            )
        )  # fmt: skip
    if "reasoning" in run:
        workers.append(
            Worker(
                client, task_queue=queues.reasoning,
                activities=reasoning_activities(
                    deps, pool_size(settings.batch_processes), warm_pool=warm_pool,
                    doc_threads=settings.batch_doc_threads,
                ),
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


async def serve_until_signalled(group: WorkerGroup, stop: asyncio.Event | None = None) -> None:
    """Run until SIGTERM/SIGINT (or `stop`), then drain; a worker that fails re-raises its error."""
    stop = stop or _stop_on_signals()
    group.start()
    stopper = asyncio.create_task(stop.wait())
    workers = asyncio.create_task(group.wait())
    await asyncio.wait({workers, stopper}, return_when=asyncio.FIRST_COMPLETED)
    stopper.cancel()
    workers.cancel()  # only this waiter: the group itself is shielded and drains below
    await group.stop()  # re-raises a worker's fatal error


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]


async def connect_with_retry(connect: Callable[[], Awaitable[_T]], *, target: str, settings: WorkerSettings) -> _T:
    """Call `connect` until it succeeds, with exponential backoff and one log line per failure.

    Raises:
        ServerUnreachableError: still failing after ``settings.connect_retry_s``.
    """
    deadline = time.monotonic() + settings.connect_retry_s
    delay = min(0.25, settings.connect_backoff_max_s)
    while True:
        try:
            return await connect()
        except _UNREACHABLE as exc:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ServerUnreachableError(
                    f"Could not reach the Temporal server at {target} within {settings.connect_retry_s:.0f} s "
                    f"(last error: {_first_line(exc)}). Start it with `durable-research server start`, "
                    "fix TEMPORAL_ADDRESS, or raise DURABLE_RESEARCH_WORKER_CONNECT_RETRY_S."
                ) from None
            wait = min(delay, left)
            _log.warning(
                "worker: cannot reach the Temporal server at %s (%s); retrying in %.1f s, for up to %.0f s more",
                target, _first_line(exc), wait, left,
            )  # fmt: skip
            await asyncio.sleep(wait)
            delay = min(delay * 2, settings.connect_backoff_max_s)


async def serve_reconnecting(
    connect: Callable[[], Awaitable[Client]],
    build: Callable[[Client], list[Worker]],
    *,
    target: str,
    settings: WorkerSettings,
    on_ready: Callable[[Client], None],
) -> None:
    """The `worker` command's life: connect (waiting for the server), serve, drain on SIGTERM/SIGINT.

    A server that goes away between the connect and the workers' first poll makes the SDK
    fail validation; that is the same outage as a refused connect, so the worker starts
    over instead of dying. Once polling, the SDK itself retries through short outages.
    """
    stop = _stop_on_signals()
    while not stop.is_set():
        connecting = asyncio.ensure_future(connect_with_retry(connect, target=target, settings=settings))
        stopper = asyncio.ensure_future(stop.wait())
        await asyncio.wait({connecting, stopper}, return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
        if not connecting.done():  # signalled while waiting for the server: nothing to drain
            connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await connecting
            return
        group = WorkerGroup(build(connecting.result()))
        on_ready(connecting.result())
        try:
            await serve_until_signalled(group, stop)
            return
        except RuntimeError as exc:
            if "validation failed" not in str(exc):
                raise
            _log.warning("worker: the Temporal server at %s went away before polling began (%s); reconnecting",
                         target, _first_line(exc))  # fmt: skip
