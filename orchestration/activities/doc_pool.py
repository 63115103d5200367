"""A worker's process pool for per-document graph runs: a batch uses more than one core.

A per-document graph is pure Python (LangGraph's loop, validation, the model client), so
one worker process analyses ~150 small documents/s on one core whatever the micro-batch
concurrency. The micro-batch activity hands each group of documents to this pool instead
(`batch_documents.analyse_group`: record check, read, graph, result artifact, ledger lines),
and the reduce activity its step (`reduce_step.py`). The worker keeps the memory upsert and
the records, so a local Chroma folder still has one writer and the crash semantics are the
micro-batch's own. A process analyses one document at a time, or a group's documents at once
in threads once it has seen the graph wait on its model (`analyse_group`), so at most
`processes` (`processes x batch_doc_threads` with such a graph) documents are in flight at a kill.

A cancelled activity (paused, cancelled, timed out) raises its group's flag in a small
shared-memory array; the group stops before its next document.

Processes are spawned (not forked: the worker runs the SDK's threads), once per worker
and pool size, and reused; each builds a graph's runner once per graph, model and thread.
They die with the worker: Linux's parent-death signal covers a SIGKILLed worker, and
each task checks that its parent is still the worker's process elsewhere.
A pool that cannot start or that breaks (a process killed on its own) raises
`PoolUnavailable`; the activity then analyses in its own process, so the pool is only
ever a speed-up.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import ctypes
import logging
import multiprocessing
import os
import pickle
import signal
import sys
import threading
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from orchestration.activities.batch_documents import DocumentOutcome, DocumentTask, analyse_group, runner_pool
from orchestration.activities.manifest import ManifestEntry
from orchestration.activities.reduce_step import ReduceOutput, ReduceTask, reduce_group
from orchestration.activities.usage_ledger import UsageLedger

_log = logging.getLogger(__name__)


class PoolUnavailable(Exception):
    """The pool cannot run this task (not picklable, not started, broken): run it in process."""


def usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def pool_size(setting: int | None) -> int:
    """Processes for a `batch_processes` setting: None = one per usable CPU when there are several."""
    if setting is not None:
        return setting
    cpus = usable_cpus()
    return cpus if cpus > 1 else 0


class DocumentPool:
    """Spawned processes that run groups of documents and reduce steps; shared by a worker's activities."""

    def __init__(self, processes: int) -> None:
        self.processes = processes
        self._executor: concurrent.futures.ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        context = multiprocessing.get_context("spawn")
        self._context = context
        self._flags = context.Array("b", _SLOTS, lock=False)  # 1: the group in this slot must stop
        self._free = set(range(_SLOTS))
        self._warming: list[concurrent.futures.Future[int]] = []

    def _pool(self) -> concurrent.futures.ProcessPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = concurrent.futures.ProcessPoolExecutor(
                    self.processes, mp_context=self._context, initializer=_child_init,
                    initargs=(os.getpid(), self._flags),
                )  # fmt: skip
            return self._executor

    def warm(self) -> None:
        """Start the processes now (each imports LangGraph and the graphs: ~1-2 s of CPU), so a
        worker's first micro-batch does not wait for them; called on the worker's loop thread."""
        if self._executor is not None:
            return
        try:
            pool = self._pool()
            for _ in range(self.processes):  # no process idle yet: each call spawns one
                self._warming.append(pool.submit(_child_ready))
        except (BrokenProcessPool, RuntimeError, OSError) as exc:
            _log.warning("document pool not started (%s); it starts with the first batch", exc)
            self._reset(pool)

    async def ready(self) -> None:
        """Wait until the processes `warm` started can take work (benchmarks time a ready worker)."""
        if self._warming:
            await asyncio.gather(*(asyncio.wrap_future(f) for f in self._warming), return_exceptions=True)

    def submit(self, task: DocumentTask, entries: list[ManifestEntry]) -> PoolGroup:
        """Start analysing `entries` in a pool process; called on the event loop's thread, which
        lives as long as the worker (the parent-death signal follows the submitting thread)."""
        with self._lock:
            slot = self._free.pop() if self._free else -1  # -1: more groups than slots, no stop flag
        if slot >= 0:
            self._flags[slot] = 0
        try:
            return self._submit(_child_group, task, entries, slot, slot=slot)
        except PoolUnavailable:
            self._release(slot)
            raise

    def submit_reduce(self, task: ReduceTask) -> PoolGroup:
        """Run one reduce step in a pool process (its result is a `ReduceOutput`)."""
        return self._submit(_child_reduce, task, slot=-1)

    def _submit(self, fn: Callable[..., Any], task: object, *args: object, slot: int) -> PoolGroup:
        try:
            blob = pickle.dumps(task)
        except Exception as exc:  # e.g. a graph factory defined inside a function
            raise PoolUnavailable(f"the task cannot cross to a process: {exc}") from exc
        executor = self._pool()
        try:
            future = executor.submit(fn, blob, *args)
        except (BrokenProcessPool, RuntimeError, OSError) as exc:
            self._reset(executor)
            raise PoolUnavailable(str(exc)) from exc
        return PoolGroup(self, executor, future, slot)

    def _release(self, slot: int) -> None:
        if slot >= 0:
            with self._lock:
                self._free.add(slot)

    def _reset(self, broken: concurrent.futures.ProcessPoolExecutor | None = None) -> None:
        """Drop the executor (`broken`: only if it is still the current one, so a group of a
        broken pool never shuts down the pool that replaced it)."""
        with self._lock:
            executor = self._executor
            if executor is None or (broken is not None and executor is not broken):
                return
            self._executor = None
        executor.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        self._reset()


class PoolGroup:
    """Work running in the pool: `result()` to wait for it, `cancel()` to stop a group of documents
    before its next one (a queued task does not start)."""

    def __init__(
        self,
        pool: DocumentPool,
        executor: concurrent.futures.ProcessPoolExecutor,
        future: concurrent.futures.Future[Any],
        slot: int,
    ) -> None:
        self.future = future
        self._pool, self._executor, self._slot = pool, executor, slot

    async def result(self) -> Any:
        """The result, or `PoolUnavailable` if a pool process died (or the broken pool was shut down)."""
        try:
            return await asyncio.shield(asyncio.wrap_future(self.future))
        except BrokenProcessPool as exc:
            self._pool._reset(self._executor)
            raise PoolUnavailable(f"a pool process died: {exc}") from exc
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if self.future.cancelled() and not (task is not None and task.cancelling()):
                raise PoolUnavailable("the pool was shut down") from None  # not this activity's cancel
            raise
        finally:
            if self.future.done():
                self._pool._release(self._slot)

    def cancel(self) -> None:
        """Stop before the next document (a queued group does not start); the slot is freed when it ends."""
        if self._slot >= 0:
            self._pool._flags[self._slot] = 1
        self.future.cancel()
        self.future.add_done_callback(lambda _: self._pool._release(self._slot))


_pools: dict[int, DocumentPool] = {}
_pools_lock = threading.Lock()


def shared_pool(processes: int) -> DocumentPool | None:
    """This worker process's pool of `processes` (0: none), created on first use."""
    if processes <= 0:
        return None
    with _pools_lock:
        if processes not in _pools:
            _pools[processes] = DocumentPool(processes)
        return _pools[processes]


# --- in the pool's processes -----------------------------------------------------

_SLOTS = 256
_parent = 0
_flags: Any = None
_ledgers: dict[tuple[Path, int], UsageLedger] = {}


def _child_init(parent: int, flags: Any) -> None:
    global _parent, _flags
    _parent, _flags = parent, flags
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the worker, which stops the pool
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the worker died while this process started
        os._exit(1)
    import reasoning.graphs  # noqa: F401  (LangGraph and the built-in graphs: paid once, here)


def _child_ready() -> int:
    return os.getpid()


def _child_reduce(blob: bytes) -> ReduceOutput:
    task: ReduceTask = pickle.loads(blob)
    with runner_pool(task.spec, task.model).lease() as runner:
        return reduce_group(task, runner)


def _child_group(blob: bytes, entries: list[ManifestEntry], slot: int) -> list[DocumentOutcome]:
    task: DocumentTask = pickle.loads(blob)
    runners = runner_pool(task.spec, task.model)

    def cancelled() -> bool:
        if os.getppid() != _parent:  # orphaned where no parent-death signal exists: do no more work
            os._exit(1)
        return slot >= 0 and bool(_flags[slot])

    return analyse_group(task, entries, runners, _ledger(task.ledger), cancelled)


def _ledger(where: tuple[Path, int] | None) -> UsageLedger | None:
    """This process's writer on an attempt's ledger file (its own sequence numbers)."""
    if where is None:
        return None
    if where not in _ledgers:
        if len(_ledgers) >= 16:  # attempts long finished: close their files
            for old in list(_ledgers)[:8]:
                _ledgers.pop(old).close()
        _ledgers[where] = UsageLedger(where[0], where[1], writer=f"p{os.getpid()}")
    return _ledgers[where]
