"""The Postgres fenced saver: same owner record, same rule as SQLite, enforced by triggers.

Kept apart because psycopg is an optional extra. The attempt travels as a session
setting (``durable_research.attempt``) of the saver's own connection, so the trigger can
compare it with the owner record inside LangGraph's INSERT, in its transaction. The
trigger reads the owner row ``FOR SHARE``: a claim's UPDATE waits for a write that passed
the check to commit (and a write waits for a claim in progress), so a claim and a checked
write never interleave. A session without the setting (an unfenced saver) writes as before.
"""

from __future__ import annotations

from typing import Any

from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from psycopg import errors as pg_errors

from reasoning.errors import CheckpointBusyError, SupersededAttemptError
from reasoning.fencing import FENCE_MARK, FencedWrites, owner_in

OWNER_TABLE = """
CREATE TABLE IF NOT EXISTS thread_owner (
    thread_id TEXT PRIMARY KEY,
    attempt INTEGER NOT NULL,
    claimed_at TIMESTAMPTZ NOT NULL DEFAULT now()
)
"""

_FUNCTION = f"""
CREATE OR REPLACE FUNCTION durable_research_fence() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    mine integer := nullif(current_setting('durable_research.attempt', true), '')::integer;
    owner integer;
BEGIN
    IF mine IS NULL THEN
        RETURN NEW;
    END IF;
    SELECT attempt INTO owner FROM thread_owner WHERE thread_id = NEW.thread_id FOR SHARE;
    IF owner IS NOT NULL AND owner > mine THEN
        RAISE EXCEPTION '{FENCE_MARK} % < owner %', mine, owner;
    END IF;
    RETURN NEW;
END $$;
"""

_TRIGGER = """
DO $$ BEGIN
    CREATE TRIGGER durable_research_fence BEFORE INSERT OR UPDATE ON {table}
        FOR EACH ROW EXECUTE FUNCTION durable_research_fence();
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;
"""


class FencedPostgresSaver(FencedWrites, AsyncPostgresSaver):
    """AsyncPostgresSaver whose writes are refused once a higher attempt claimed the thread.

    Args:
        conn: an autocommit psycopg connection (as `AsyncPostgresSaver.from_conn_string` opens).
        attempt: this writer's attempt number.
    """

    store_errors = (pg_errors.RaiseException, pg_errors.LockNotAvailable)

    def __init__(self, conn: Any, *, attempt: int) -> None:
        super().__init__(conn)
        self.attempt = int(attempt)

    async def fence(self, busy_timeout_s: float) -> None:
        """Create the owner table and triggers, and mark this session with its attempt.

        ``busy_timeout_s`` becomes the session's ``lock_timeout``, so a claim behind a
        paused writer fails with `CheckpointBusyError` instead of waiting for ever.
        """
        await self.setup()
        # Workers start together: one at a time, or CREATE OR REPLACE races ("tuple concurrently updated").
        async with self.lock, self.conn.transaction(), self.conn.cursor() as cur:  # type: ignore[union-attr]
            await cur.execute("SELECT pg_advisory_xact_lock(hashtext('durable_research_fence'))")
            await cur.execute(OWNER_TABLE)
            await cur.execute(_FUNCTION)
            for table in ("checkpoints", "checkpoint_blobs", "checkpoint_writes"):
                await cur.execute(_TRIGGER.format(table=table))
        async with self._cursor() as cur:
            await cur.execute("SELECT set_config('durable_research.attempt', %s, false)", (str(self.attempt),))
            await cur.execute("SELECT set_config('lock_timeout', %s, false)", (f"{int(busy_timeout_s * 1000)}ms",))

    async def claim(self, thread_id: str) -> None:
        """Make this attempt the thread's owner, or raise if a higher attempt already is."""
        async with self.lock, self.conn.transaction(), self.conn.cursor() as cur:  # type: ignore[union-attr]
            try:
                await cur.execute(
                    "INSERT INTO thread_owner (thread_id, attempt) VALUES (%s, %s) ON CONFLICT (thread_id) DO UPDATE"
                    " SET attempt = EXCLUDED.attempt, claimed_at = now()"
                    " WHERE thread_owner.attempt <= EXCLUDED.attempt",
                    (thread_id, self.attempt),
                )
                await cur.execute("SELECT attempt FROM thread_owner WHERE thread_id = %s", (thread_id,))
            except pg_errors.LockNotAvailable as exc:
                raise CheckpointBusyError(f"claiming thread {thread_id!r}: {exc}") from exc
            row = await cur.fetchone()
        owner = int(row["attempt"] if isinstance(row, dict) else row[0])  # type: ignore[index]
        if owner > self.attempt:
            raise SupersededAttemptError(thread_id, self.attempt, owner)

    async def translate(self, config: Any, exc: Exception) -> Exception:
        thread_id = str(config["configurable"]["thread_id"])
        if isinstance(exc, pg_errors.LockNotAvailable):
            return CheckpointBusyError(f"writing thread {thread_id!r}: {exc}")
        if FENCE_MARK not in str(exc):
            return exc
        return SupersededAttemptError(thread_id, self.attempt, owner_in(str(exc)))
