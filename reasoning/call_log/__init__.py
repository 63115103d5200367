"""The call log: every model call of a graph run is stored before the graph sees it, so a retry pays
only for the calls that were in flight, and a superseded (zombie) attempt makes no call.

How a run uses it (`reasoning.runner` does this for every run with a thread and a store)::

    store = shared_call_log(checkpoint_config, thread_id)     # the job's checkpoint database
    claim(store, thread_id, attempt)                           # the same owner record as checkpoints
    with call_scope(CallScope(store, thread_id, attempt, graph="researcher@1")):
        graph.invoke(...)            # models copied `with_call_log(model)` answer from the log

The pieces: `store` (SQLite, `store_postgres` Postgres: one table, fenced by a trigger),
`scope` (a run's thread, attempt and call positions; what to do when the log breaks) and
`model_calls` (LangChain's cache interface: fingerprints, encoding, replay markers).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from reasoning.call_log.model_calls import CALL_LOG_CACHE, REPLAYED, CallLogCache, is_replayed, with_call_log
from reasoning.call_log.scope import CallScope, call_scope, current_scope, warn_once
from reasoning.call_log.store import CallLogStore, Entry, SqliteCallLog
from reasoning.errors import ConfigError, SupersededAttemptError

if TYPE_CHECKING:
    from reasoning.checkpoints import CheckpointConfig

_shared: dict[tuple[int, str, float], CallLogStore] = {}
_shared_lock = threading.Lock()


def open_call_log(config: CheckpointConfig, thread_id: str) -> CallLogStore | None:
    """The call log for `thread_id` where `config` keeps checkpoints; None when it cannot open.

    A log that cannot be opened (a missing folder that cannot be made, a locked or corrupt
    database, Postgres down) is said once in the worker log and the run goes on unlogged:
    the log saves money, it never decides whether a job runs.
    """
    try:
        if config.postgres_url:
            from reasoning.call_log.store_postgres import PostgresCallLog

            return PostgresCallLog(config.postgres_url, busy_timeout_s=config.busy_timeout_s)
        return SqliteCallLog(Path(config.sqlite_file(thread_id)), busy_timeout_s=config.busy_timeout_s)
    except ConfigError:
        return None  # no store configured: nothing to log into
    except Exception as exc:
        warn_once("open", type(exc).__name__, f"call log not opened for {thread_id!r} ({exc}); calls run unlogged")
        return None


def shared_call_log(config: CheckpointConfig, thread_id: str) -> CallLogStore | None:
    """This process's open call log for the database holding `thread_id`, kept for later runs.

    One connection per process and database instead of one per run (a run's open, setup and
    close cost more than its calls; a batch runs thousands of short graphs). Stores are
    thread-safe; one that falls out of this cache closes once no run holds it any more.
    """
    try:
        where = config.postgres_url or str(config.sqlite_file(thread_id))
    except ConfigError:
        return None
    key = (os.getpid(), where, config.busy_timeout_s)
    with _shared_lock:
        if key in _shared:
            return _shared[key]
    store = open_call_log(config, thread_id)
    if store is None:
        return None
    with _shared_lock:
        if len(_shared) >= 16:  # databases of batches long finished; runs still holding one keep it open
            for old in list(_shared)[:8]:
                del _shared[old]
        return _shared.setdefault(key, store)


def claim(store: CallLogStore | None, thread_id: str, attempt: int | None) -> CallLogStore | None:
    """Claim `thread_id` for `attempt` in `store`; the store, or None if it broke (said once).

    The first attempt (1) claims nothing: no earlier attempt can be fenced off, and without an
    owner record its calls are checked against no one; a retry's claim then fences it. That saves
    a write transaction for every graph run that never fails.

    Raises:
        SupersededAttemptError: a higher attempt owns the thread.
    """
    if store is None or attempt is None or attempt <= 1:
        return store
    try:
        store.claim(thread_id, attempt)
        return store
    except SupersededAttemptError:
        raise
    except Exception as exc:
        warn_once(store.label, f"claim {type(exc).__name__}", f"call log {store.label}: claim failed ({exc}); unlogged")
        return None


__all__ = [
    "CALL_LOG_CACHE",
    "REPLAYED",
    "CallLogCache",
    "CallLogStore",
    "CallScope",
    "Entry",
    "SqliteCallLog",
    "call_scope",
    "claim",
    "current_scope",
    "is_replayed",
    "open_call_log",
    "shared_call_log",
    "with_call_log",
]
