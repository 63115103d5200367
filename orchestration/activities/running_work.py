"""Waiting for work that runs outside the activity's coroutine, heartbeating meanwhile.

A micro-batch's groups and a reduce step run in the worker's document pool or in a thread;
a real model can take minutes over them, longer than a heartbeat timeout, so the activity
heartbeats while it waits, and when the activity is cancelled (paused, cancelled, timed out)
it asks the work to stop: a group of documents stops before its next document.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

from temporalio import activity

from orchestration.activities.batch_documents import DocumentOutcome, DocumentTask, analyse_group, runner_pool
from orchestration.activities.manifest import ManifestEntry
from orchestration.activities.usage_ledger import UsageLedger

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class Running(Protocol[T_co]):
    """Work started elsewhere (a pool process, a thread): its result, and a way to stop it."""

    async def result(self) -> T_co: ...

    def cancel(self) -> None: ...


class ThreadWork(Generic[T]):
    """`fn(*args)` in a thread of this worker; `stop` (if given) is what `cancel` sets."""

    def __init__(self, fn: Callable[..., T], *args: object, stop: threading.Event | None = None) -> None:
        self.future: asyncio.Future[T] = asyncio.ensure_future(asyncio.to_thread(fn, *args))
        self._stop = stop

    async def result(self) -> T:
        return await asyncio.shield(self.future)

    def cancel(self) -> None:
        if self._stop is not None:
            self._stop.set()


async def beating(work: Running[T], cursor: int | None) -> T:
    """The work's result, heartbeating (the cursor, or "reducing") every third of the heartbeat
    timeout while it runs; a cancelled activity cancels the work."""
    info = activity.info()
    every = (info.heartbeat_timeout.total_seconds() / 3) if info.heartbeat_timeout else 10.0
    waiter = asyncio.ensure_future(work.result())
    try:
        while True:
            done, _ = await asyncio.wait({waiter}, timeout=every)
            if done:
                return waiter.result()
            activity.heartbeat({"cursor": cursor} if cursor is not None else "reducing")
    except asyncio.CancelledError:
        work.cancel()
        waiter.cancel()
        raise


class InProcess:
    """A micro-batch's groups analysed in a thread of this worker (no pool, or the pool failed),
    with the graph compiled once per thread of this process (`runner_pool`)."""

    def __init__(self, task: DocumentTask, ledger: UsageLedger) -> None:
        self._task, self._ledger = task, ledger
        self._runners = runner_pool(task.spec, task.model)

    async def analyse(self, group: list[ManifestEntry], cursor: int) -> list[DocumentOutcome]:
        stop = threading.Event()
        work = ThreadWork(analyse_group, self._task, group, self._runners, self._ledger, stop.is_set, stop=stop)
        return await beating(work, cursor)
