"""The Postgres twin of `SqliteCallLog`, for workers on several hosts (beside the Postgres checkpoints).

Kept apart because psycopg is an optional extra. The same rule as SQLite: the row carries
its writer's attempt and a trigger compares it with the owner record inside the INSERT,
reading the owner row ``FOR SHARE`` so a claim and a checked write never interleave.
"""

from __future__ import annotations

import threading
from typing import Any

import psycopg
from psycopg import errors as pg_errors

from reasoning.call_log.store import SqlCallLog
from reasoning.errors import SupersededAttemptError
from reasoning.fencing import FENCE_MARK, owner_in
from reasoning.fencing.postgres import OWNER_TABLE

_TABLE = """
CREATE TABLE IF NOT EXISTS call_log (
    thread_id TEXT NOT NULL,
    position TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    attempt INTEGER,
    kind TEXT NOT NULL,
    format INTEGER NOT NULL,
    payload BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (thread_id, position, fingerprint)
)
"""

_FUNCTION = f"""
CREATE OR REPLACE FUNCTION durable_research_call_fence() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    owner integer;
BEGIN
    IF NEW.attempt IS NULL THEN
        RETURN NEW;
    END IF;
    SELECT attempt INTO owner FROM thread_owner WHERE thread_id = NEW.thread_id FOR SHARE;
    IF owner IS NOT NULL AND owner > NEW.attempt THEN
        RAISE EXCEPTION '{FENCE_MARK} % < owner %', NEW.attempt, owner;
    END IF;
    RETURN NEW;
END $$;
"""

_TRIGGER = """
DO $$ BEGIN
    CREATE TRIGGER durable_research_call_fence BEFORE INSERT OR UPDATE ON call_log
        FOR EACH ROW EXECUTE FUNCTION durable_research_call_fence();
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;
"""

_GET = """
SELECT (SELECT attempt FROM thread_owner WHERE thread_id = %(thread)s),
       c.format, c.payload, c.attempt
FROM (SELECT 1) AS one LEFT JOIN call_log c
    ON c.thread_id = %(thread)s AND c.position = %(position)s AND c.fingerprint = %(fingerprint)s
"""

_PUT = """
INSERT INTO call_log (thread_id, position, fingerprint, attempt, kind, format, payload)
VALUES (%s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (thread_id, position, fingerprint) DO UPDATE SET
    attempt = EXCLUDED.attempt, kind = EXCLUDED.kind, format = EXCLUDED.format,
    payload = EXCLUDED.payload, created_at = now()
"""


_set_up: set[str] = set()


class PostgresCallLog(SqlCallLog):
    """The call log in Postgres.

    Args:
        url: a libpq connection string (the checkpoint database's).
        busy_timeout_s: the session's lock timeout, so a claim behind a stuck writer fails.
    """

    _get_sql, _put_sql = _GET, _PUT
    _refusals = (pg_errors.RaiseException,)

    def __init__(self, url: str, *, busy_timeout_s: float = 30.0) -> None:
        self.label = "postgres call_log"
        self._lock = threading.Lock()
        self._conn: Any = psycopg.connect(url, autocommit=True, prepare_threshold=0)
        try:
            if url not in _set_up:  # the DDL once per process and database: it costs more than the calls
                with self._conn.transaction(), self._conn.cursor() as cur:
                    # Workers start together: one at a time, or CREATE OR REPLACE races ("tuple concurrently updated").
                    cur.execute("SELECT pg_advisory_xact_lock(hashtext('durable_research_fence'))")
                    cur.execute(OWNER_TABLE)
                    cur.execute(_TABLE)
                    cur.execute(_FUNCTION)
                    cur.execute(_TRIGGER)
                _set_up.add(url)
            self._conn.execute("SELECT set_config('lock_timeout', %s, false)", (f"{int(busy_timeout_s * 1000)}ms",))
        except BaseException:
            self._conn.close()
            raise

    def claim(self, thread_id: str, attempt: int) -> None:
        with self._lock, self._conn.transaction(), self._conn.cursor() as cur:
            cur.execute(
                "INSERT INTO thread_owner (thread_id, attempt) VALUES (%s, %s) ON CONFLICT (thread_id) DO UPDATE"
                " SET attempt = EXCLUDED.attempt, claimed_at = now() WHERE thread_owner.attempt <= EXCLUDED.attempt",
                (thread_id, attempt),
            )
            cur.execute("SELECT attempt FROM thread_owner WHERE thread_id = %s", (thread_id,))
            row = cur.fetchone()
        owner = int(row[0])
        if owner > attempt:
            raise SupersededAttemptError(thread_id, attempt, owner)

    def _owner_after(self, refusal: Exception, thread_id: str) -> int | None:
        return owner_in(str(refusal))  # the trigger names it: no second query on a failed transaction

    def __del__(self) -> None:
        # A failed run leaves its store to its last user (see `arun_graph`); psycopg would warn.
        conn = getattr(self, "_conn", None)
        if conn is not None and not conn.closed:
            conn.close()
