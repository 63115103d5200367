"""Where the call log lives: one table beside the checkpoints, fenced by the same owner record.

An entry is keyed by (thread, position, fingerprint) and remembers the attempt that wrote
it. Every entry is checked against the thread's owner record (`thread_owner`, the table the
fenced checkpointers claim) inside its own INSERT, by a trigger, so an attempt that a newer
one superseded can write nothing; `get` reads the owner and the entry in one statement, so a
superseded attempt neither calls again nor reads what its successor stored.

Stores raise; they never decide to go on without the log. That policy (warn once, run the
call normally) belongs to `CallScope`, which wraps every store operation.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from reasoning.errors import SupersededAttemptError
from reasoning.fencing import FENCE_MARK
from reasoning.fencing.sqlite import SQLITE_OWNER_TABLE
from retrieval.sqlite_wal import is_locked, wal_backoff

Kind = str
"""What was called: "model" or "tool"."""


@dataclass(frozen=True)
class Entry:
    """A stored call: the encoding version of `payload`, and the attempt that made the call."""

    format: int
    payload: bytes
    attempt: int


def entry_of(row: tuple[Any, Any, Any, Any], thread_id: str, attempt: int | None) -> Entry | None:
    """A `get` query's row (owner, format, payload, writer) as an entry; raises when superseded.

    Both stores read the owner and the entry in one statement, and decide here, the same way.
    """
    owner, fmt, payload, writer = row
    if attempt is not None and owner is not None and int(owner) > attempt:
        raise SupersededAttemptError(thread_id, attempt, int(owner))
    if payload is None:
        return None
    return Entry(int(fmt), bytes(payload), int(writer) if writer is not None else 0)


class CallLogStore(Protocol):
    """A call log backend. Thread-safe; every method may raise its driver's errors."""

    label: str
    """Where it is (a file name or a database), for the one warning a broken store gets."""

    def claim(self, thread_id: str, attempt: int) -> None:
        """Make `attempt` the thread's owner, or raise `SupersededAttemptError` if a higher one is."""

    def get(self, thread_id: str, position: str, fingerprint: str, attempt: int | None) -> Entry | None:
        """The entry at (thread, position, fingerprint); raises `SupersededAttemptError` first if
        a higher attempt than `attempt` owns the thread (None: an unfenced reader)."""

    def put(
        self, thread_id: str, position: str, fingerprint: str, attempt: int | None, kind: Kind, fmt: int, payload: bytes
    ) -> None:
        """Store an entry (replacing one that did not decode); refused for a superseded attempt."""

    def close(self) -> None: ...


_SQLITE_TABLE = """
CREATE TABLE IF NOT EXISTS call_log (
    thread_id TEXT NOT NULL,
    position TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    attempt INTEGER,
    kind TEXT NOT NULL,
    format INTEGER NOT NULL,
    payload BLOB NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (thread_id, position, fingerprint)
)
"""

# A row carries its writer's attempt, so one permanent trigger serves every connection (the
# checkpoint savers' triggers are per connection because LangGraph's rows carry no attempt).
_SQLITE_TRIGGERS = [
    f"""
CREATE TRIGGER IF NOT EXISTS call_log_fence_{event} BEFORE {event} ON call_log
WHEN (SELECT attempt FROM thread_owner WHERE thread_id = NEW.thread_id) > NEW.attempt
BEGIN SELECT RAISE(ABORT, '{FENCE_MARK}'); END
"""
    for event in ("INSERT", "UPDATE")
]

# The owner and the entry in one statement: one snapshot, so no claim can fall between them.
_SQLITE_GET = """
SELECT (SELECT attempt FROM thread_owner WHERE thread_id = :thread),
       c.format, c.payload, c.attempt
FROM (SELECT 1) LEFT JOIN call_log c
    ON c.thread_id = :thread AND c.position = :position AND c.fingerprint = :fingerprint
"""

_SQLITE_PUT = """
INSERT INTO call_log (thread_id, position, fingerprint, attempt, kind, format, payload)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (thread_id, position, fingerprint) DO UPDATE SET
    attempt = excluded.attempt, kind = excluded.kind, format = excluded.format,
    payload = excluded.payload, created_at = excluded.created_at
"""


class SqlCallLog:
    """What both stores do the same way around their own SQL: read an entry with its owner in one
    statement, write one and turn the fence's refusal into `SupersededAttemptError`, close.

    A store sets `_conn` and `_lock` (its connection is shared by the scope's threads), its two
    statements, the driver errors a refused write raises, and how it finds the owner then.
    """

    _conn: Any
    _lock: threading.Lock
    _get_sql: str
    _put_sql: str
    _refusals: tuple[type[Exception], ...]

    def get(self, thread_id: str, position: str, fingerprint: str, attempt: int | None) -> Entry | None:
        args = {"thread": thread_id, "position": position, "fingerprint": fingerprint}
        with self._lock:
            row = self._conn.execute(self._get_sql, args).fetchone()
        return entry_of(row, thread_id, attempt)

    def put(
        self, thread_id: str, position: str, fingerprint: str, attempt: int | None, kind: Kind, fmt: int, payload: bytes
    ) -> None:
        try:
            with self._lock:
                self._conn.execute(self._put_sql, (thread_id, position, fingerprint, attempt, kind, fmt, payload))
        except self._refusals as exc:
            if FENCE_MARK not in str(exc):
                raise
            raise SupersededAttemptError(thread_id, attempt or 0, self._owner_after(exc, thread_id)) from exc

    def _owner_after(self, refusal: Exception, thread_id: str) -> int | None:
        """The owner attempt that refused a write (None when unknown)."""
        raise NotImplementedError

    def close(self) -> None:
        with self._lock:
            self._conn.close()


class SqliteCallLog(SqlCallLog):
    """The call log in a SQLite database (the job's checkpoint database on one host).

    Args:
        path: the database file (created with its folder when missing).
        busy_timeout_s: how long a claim waits for another writer's lock.
        call_timeout_s: how long a call's read or write waits for it; short, because a log
            that stays locked must not hold up the call (the scope then runs it unlogged).
    """

    _get_sql, _put_sql = _SQLITE_GET, _SQLITE_PUT
    _refusals = (sqlite3.IntegrityError, sqlite3.OperationalError)

    def __init__(self, path: Path, *, busy_timeout_s: float = 30.0, call_timeout_s: float = 5.0) -> None:
        self.path = path
        self.label = str(path)
        self._call_ms = int(call_timeout_s * 1000)
        self._busy_ms = int(busy_timeout_s * 1000)
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        # Autocommit: every statement is its own transaction, so an entry is durable once `put` returns.
        self._conn = sqlite3.connect(str(path), timeout=call_timeout_s, isolation_level=None, check_same_thread=False)
        try:
            self._set_up(busy_timeout_s)
        except BaseException:
            self._conn.close()
            raise

    def _set_up(self, busy_timeout_s: float) -> None:
        waits = wal_backoff(busy_timeout_s)
        while True:  # another connection may be switching the same new file to WAL (retrieval.sqlite_wal)
            try:
                self._conn.execute("PRAGMA journal_mode=WAL")
                break
            except sqlite3.OperationalError as exc:
                delay = next(waits, None)
                if not is_locked(exc) or delay is None:
                    raise
                time.sleep(delay)
        # NORMAL in WAL mode: a committed entry survives a killed process; only a lost host can drop the last ones.
        self._conn.execute("PRAGMA synchronous=NORMAL")
        if self._conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'call_log_fence_UPDATE'").fetchone():
            return  # set up already: skip the DDL, which would take the write lock
        self._conn.execute(f"PRAGMA busy_timeout={self._busy_ms}")
        try:
            for ddl in (SQLITE_OWNER_TABLE, _SQLITE_TABLE, *_SQLITE_TRIGGERS):
                self._conn.execute(ddl)
        finally:
            self._conn.execute(f"PRAGMA busy_timeout={self._call_ms}")

    def claim(self, thread_id: str, attempt: int) -> None:
        with self._lock:
            self._conn.execute(f"PRAGMA busy_timeout={self._busy_ms}")
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    row = self._conn.execute(
                        "SELECT attempt FROM thread_owner WHERE thread_id = ?", (thread_id,)
                    ).fetchone()
                    if row is not None and int(row[0]) > attempt:
                        raise SupersededAttemptError(thread_id, attempt, int(row[0]))
                    self._conn.execute(
                        "INSERT INTO thread_owner (thread_id, attempt) VALUES (?, ?) ON CONFLICT (thread_id)"
                        " DO UPDATE SET attempt = excluded.attempt, claimed_at = excluded.claimed_at",
                        (thread_id, attempt),
                    )
                    self._conn.execute("COMMIT")
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
            finally:
                self._conn.execute(f"PRAGMA busy_timeout={self._call_ms}")

    def _owner_after(self, refusal: Exception, thread_id: str) -> int | None:
        with self._lock:
            row = self._conn.execute("SELECT attempt FROM thread_owner WHERE thread_id = ?", (thread_id,)).fetchone()
        return None if row is None else int(row[0])
