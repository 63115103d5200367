"""Checkpointers that refuse the writes of a superseded attempt, so a thread's chain stays linear.

After a heartbeat timeout the old attempt of an activity may still be alive (a paused
process, a partition) and keep writing checkpoints for the thread the new attempt now
runs; LangGraph's savers accept both writers and the chain forks (LangGraph #8796).

The rule, for SQLite and Postgres alike:

* an owner record per thread, ``thread_owner(thread_id, attempt)``, in the same database
  as the checkpoints;
* an attempt claims the thread before it reads the thread's state (`claim`); only an
  equal or higher attempt may take the record over, a lower one gets
  `SupersededAttemptError`;
* every checkpoint, blob and pending-write row is checked against the owner record by a
  trigger, i.e. inside the INSERT statement itself and so in the same transaction as the
  write, and a write by a lower attempt is refused (rolled back).

Why triggers instead of re-implementing `aput` / `aput_writes`: the check then lives in
the very statement LangGraph runs, with LangGraph's own SQL, locks and commits untouched
(we wrap the savers, we do not fork them). A Python check before LangGraph's INSERT would
leave a gap: AsyncSqliteSaver issues its INSERT and its COMMIT as two separate hops to
aiosqlite's thread, and a claim could land between a check and the write.

Why this is linear whatever the timing: on SQLite every write takes the database's single
write lock when its statement starts, so a claim (``BEGIN IMMEDIATE``) and a checked write
are serialised; a zombie stopped between its checked INSERT and its COMMIT still holds the
lock, so the new attempt's claim waits for that commit (up to the busy timeout) and then
reads a state that includes it. On Postgres the trigger reads the owner row ``FOR SHARE``,
which conflicts with the claim's UPDATE in the same way.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from reasoning.errors import CheckpointBusyError, SupersededAttemptError

# The marker the triggers put in their error; how the savers recognise a refused write.
FENCE_MARK = "durable-research fence: superseded attempt"

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


class FencedSqliteSaver(AsyncSqliteSaver):
    """AsyncSqliteSaver whose writes are refused once a higher attempt claimed the thread.

    Args:
        conn: an open aiosqlite connection (its busy timeout decides how long a write
            waits for another writer's lock).
        attempt: this writer's attempt number (Temporal's ``activity.info().attempt``).
    """

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

    async def aput(self, config: Any, checkpoint: Any, metadata: Any, new_versions: Any) -> Any:
        try:
            return await super().aput(config, checkpoint, metadata, new_versions)
        except (sqlite3.IntegrityError, sqlite3.OperationalError) as exc:
            if (err := await self._translate(config, exc)) is exc:
                raise
            raise err from exc

    async def aput_writes(
        self, config: Any, writes: Sequence[tuple[str, Any]], task_id: str, task_path: str = ""
    ) -> None:
        try:
            await super().aput_writes(config, writes, task_id, task_path)
        except (sqlite3.IntegrityError, sqlite3.OperationalError) as exc:
            if (err := await self._translate(config, exc)) is exc:
                raise
            raise err from exc

    async def _translate(self, config: Any, exc: sqlite3.Error) -> Exception:
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
