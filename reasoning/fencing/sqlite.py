"""The SQLite fenced saver: owner record and TEMP triggers on the job's own database (see the package)."""

from __future__ import annotations

import sqlite3
from typing import Any

from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from reasoning.errors import CheckpointBusyError, SupersededAttemptError
from reasoning.fencing import FENCE_MARK, FencedWrites

SQLITE_OWNER_TABLE = """
CREATE TABLE IF NOT EXISTS thread_owner (
    thread_id TEXT PRIMARY KEY,
    attempt INTEGER NOT NULL,
    claimed_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
)
"""

# TEMP triggers belong to this connection only, so the attempt can be a literal: one
# saver (one connection) serves one attempt. A connection of an unfenced saver (a
# notebook's run_graph without an attempt) has no trigger and writes as before.
_SQLITE_TRIGGER = """
CREATE TEMP TRIGGER IF NOT EXISTS fence_{table} BEFORE INSERT ON main.{table}
WHEN (SELECT attempt FROM main.thread_owner WHERE thread_id = NEW.thread_id) > {attempt}
BEGIN SELECT RAISE(ROLLBACK, '{mark}'); END
"""


class FencedSqliteSaver(FencedWrites, AsyncSqliteSaver):
    """AsyncSqliteSaver whose writes are refused once a higher attempt claimed the thread.

    Args:
        conn: an open aiosqlite connection (its busy timeout decides how long a write
            waits for another writer's lock).
        attempt: this writer's attempt number (Temporal's ``activity.info().attempt``).
    """

    store_errors = (sqlite3.IntegrityError, sqlite3.OperationalError)

    def __init__(self, conn: Any, *, attempt: int) -> None:
        super().__init__(conn)
        self.attempt = int(attempt)
        self._fenced = False

    async def setup(self) -> None:
        """LangGraph's tables, then the owner table and this connection's fence triggers."""
        await super().setup()
        if self._fenced:
            return
        async with self.lock:
            if self._fenced:
                return
            await self.conn.execute(SQLITE_OWNER_TABLE)
            for table in ("checkpoints", "writes"):
                await self.conn.execute(_SQLITE_TRIGGER.format(table=table, attempt=self.attempt, mark=FENCE_MARK))
            await self.conn.commit()
            self._fenced = True

    async def claim(self, thread_id: str) -> None:
        """Make this attempt the thread's owner, or raise if a higher attempt already is.

        ``BEGIN IMMEDIATE`` takes the write lock first, so the read and the update of the
        owner record cannot interleave with another claim or with a checked write.

        Raises:
            SupersededAttemptError: a higher attempt owns the thread.
            CheckpointBusyError: another process held the write lock past the busy timeout.
        """
        await self.setup()
        async with self.lock:
            try:
                await self.conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise CheckpointBusyError(f"claiming thread {thread_id!r}: {exc}") from exc
            try:
                async with self.conn.execute(
                    "SELECT attempt FROM thread_owner WHERE thread_id = ?", (thread_id,)
                ) as cur:
                    row = await cur.fetchone()
                if row is not None and int(row[0]) > self.attempt:
                    raise SupersededAttemptError(thread_id, self.attempt, int(row[0]))
                await self.conn.execute(
                    "INSERT INTO thread_owner (thread_id, attempt) VALUES (?, ?) ON CONFLICT (thread_id) DO UPDATE"
                    " SET attempt = excluded.attempt, claimed_at = excluded.claimed_at",
                    (thread_id, self.attempt),
                )
                await self.conn.commit()
            except BaseException:
                await self.conn.rollback()
                raise

    async def owner(self, thread_id: str) -> int | None:
        """The attempt that owns `thread_id`, or None if nobody claimed it."""
        await self.setup()
        query = "SELECT attempt FROM thread_owner WHERE thread_id = ?"
        async with self.lock, self.conn.execute(query, (thread_id,)) as cur:
            row = await cur.fetchone()
        return None if row is None else int(row[0])

    async def translate(self, config: Any, exc: Exception) -> Exception:
        """A fence refusal or a lock timeout as our typed errors; anything else as itself."""
        thread_id = str(config["configurable"]["thread_id"])
        if FENCE_MARK in str(exc):
            return SupersededAttemptError(thread_id, self.attempt, await self.owner(thread_id))
        if isinstance(exc, sqlite3.OperationalError) and ("locked" in str(exc) or "busy" in str(exc)):
            # A write that timed out on the lock leaves Python's implicit transaction open.
            async with self.lock:
                if self.conn.in_transaction:
                    await self.conn.rollback()
            return CheckpointBusyError(f"writing thread {thread_id!r}: {exc}")
        return exc
