"""One graph run's view of the call log: its thread and attempt, and the position of each call.

A position names a call by where it happens in the run, never by when: the node's task
(its checkpoint namespace without LangGraph's random task ids, its step and its path,
which tells parallel branches and `Send`s apart) and the call's index inside that task.
A retried attempt that runs the same graph over the same input reaches the same positions
in either recovery mode (`restart` re-runs the same steps; `resume` re-runs a task at the
step it had), so it finds its predecessor's calls; parallel branches count their calls
separately and never race for a number. Calls a node makes concurrently itself (its own
thread pool, ``model.batch``) may swap indices between attempts: their fingerprints then
differ and the calls run again, never answered with another call's result.

The scope is a context variable: LangGraph copies the context into every task it runs, so
a model or tool deep inside a node finds the run's scope without being handed it.

Every store operation goes through `CallScope`, which owns the policy for a broken log: a
store that fails (locked past its timeout, disk full, missing) is left for the rest of the
run and the calls run normally; the worker log says so once per database and reason.
`SupersededAttemptError` is the one store error that passes: it stops a zombie.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.runnables.config import var_child_runnable_config

from reasoning.call_log.store import CallLogStore, Entry, Kind
from reasoning.errors import SupersededAttemptError

_log = logging.getLogger(__name__)
_SCOPE: ContextVar[CallScope | None] = ContextVar("durable_research_call_scope", default=None)
_warned: set[tuple[str, str]] = set()
_warned_lock = threading.Lock()


@dataclass(eq=False)
class CallScope:
    """The call log of one graph run (one `invoke`, one attempt's run of one thread).

    Attributes:
        store: where entries live (None: nothing is logged or replayed).
        thread_id: the run's thread (the activity's `workflow_id/run_id/activity_id`).
        attempt: the fencing token (Temporal's attempt); None for an unfenced run.
        graph: the graph key (`name@version`); part of every fingerprint, so a swapped graph
            never meets another version's calls.
        prefix: what tells apart runs that share a thread (a batch document's index).
        replayed: calls answered from the log in this run.
        recorded: calls stored in this run.
    """

    store: CallLogStore | None
    thread_id: str
    attempt: int | None
    graph: str
    prefix: str = ""
    replayed: int = 0
    recorded: int = 0
    _counts: dict[str, int] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def next_position(self) -> str:
        """The position of a call starting now in the current task (counts it)."""
        config = var_child_runnable_config.get() or {}
        task = task_position(config.get("metadata") or {})
        key = f"{self.prefix}{task}"
        with self._lock:
            index = self._counts.get(key, 0)
            self._counts[key] = index + 1
        return f"{key}#{index}"

    def task_started(self, metadata: dict[str, Any]) -> None:
        """A node's task starts (again): its calls count from 0, so a task that re-runs in the
        same run (resumed after an interrupt) reaches the same positions as its first run."""
        with self._lock:
            self._counts.pop(f"{self.prefix}{task_position(metadata)}", None)

    def fetch(self, position: str, fingerprint: str) -> Entry | None:
        """The stored entry, or None (absent, or the log is unusable); raises when superseded."""
        store = self.store
        if store is None:
            return None
        try:
            return store.get(self.thread_id, position, fingerprint, self.attempt)
        except SupersededAttemptError:
            raise
        except Exception as exc:
            self._give_up(store, "read", exc)
            return None

    def save(self, kind: Kind, position: str, fingerprint: str, fmt: int, payload: bytes) -> None:
        """Store a finished call; a superseded attempt is refused (raises), a broken log is left."""
        store = self.store
        if store is None:
            return
        try:
            store.put(self.thread_id, position, fingerprint, self.attempt, kind, fmt, payload)
        except SupersededAttemptError:
            raise
        except Exception as exc:
            self._give_up(store, "write", exc)
            return
        with self._lock:
            self.recorded += 1

    def count_replay(self) -> None:
        with self._lock:
            self.replayed += 1

    def _give_up(self, store: CallLogStore, what: str, exc: Exception) -> None:
        self.store = None  # the rest of this run calls as if there were no log
        warn_once(store.label, type(exc).__name__, f"call log {store.label}: {what} failed ({exc}); calls run unlogged")


def warn_once(label: str, reason: str, message: str) -> None:
    """Log `message` once per process for (`label`, `reason`)."""
    with _warned_lock:
        if (label, reason) in _warned:
            return
        _warned.add((label, reason))
    _log.warning(message)


def task_position(metadata: dict[str, Any]) -> str:
    """The stable part of a task's identity: namespace names, step and path, no task ids."""
    ns = str(metadata.get("langgraph_checkpoint_ns") or "")
    names = "|".join(part.split(":", 1)[0] for part in ns.split("|")) if ns else "-"
    step = metadata.get("langgraph_step")
    path = metadata.get("langgraph_path")
    where = json.dumps(path, default=str, separators=(",", ":")) if path else ""
    return f"{names}@{step if step is not None else '-'}{where}"


class TaskStarts(BaseCallbackHandler):
    """Tells a scope when each node's task starts (LangChain's callback for the node's chain).

    `run_inline`: called on the event loop as the node starts, before its function runs on a worker
    thread, so the reset happens before the task's first call.
    """

    run_inline = True

    def __init__(self, scope: CallScope) -> None:
        self._scope = scope

    def on_chain_start(
        self, serialized: Any, inputs: Any, *, run_id: Any, metadata: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        node = (metadata or {}).get("langgraph_node")
        if node and kwargs.get("name") == node:  # the node itself, not a chain nested in it
            self._scope.task_started(metadata or {})


def current_scope() -> CallScope | None:
    """The call log of the run this code runs in, or None outside one."""
    return _SCOPE.get()


@contextlib.contextmanager
def call_scope(scope: CallScope | None) -> Iterator[CallScope | None]:
    """Make `scope` the current run's call log inside the block (and in tasks started from it)."""
    token = _SCOPE.set(scope)
    try:
        yield scope
    finally:
        _SCOPE.reset(token)
