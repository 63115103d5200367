"""Where resume mode keeps checkpoints, and how a run opens its (fenced) checkpointer.

SQLite allows one writer per database file at a time. A process paused inside a write
transaction (SIGSTOP, a debugger, a swapped-out VM) holds that lock until it continues;
with one shared file, every job's checkpoint writes wait behind it, and fail with
"database is locked" once the busy timeout passes (measured: 3.5 s stalls of other jobs
with a shared file; see tests/reasoning/test_checkpoint_stall.py). So the default is one
database per job (``sqlite_dir/<job>.sqlite``): a paused process stalls only its own job,
whose new attempt must wait for the lock anyway to keep the chain linear. The busy
timeout is deliberate (30 s by default rather than sqlite3's implicit 5 s): long enough to
ride out a short pause of a writer, short enough that a claim behind a long-paused zombie
fails (retryably) within one heartbeat-timeout-sized wait. The journal is WAL (set by
LangGraph's setup), so readers never wait for the writer.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from reasoning.errors import CheckpointBusyError, ConfigError
from retrieval.sqlite_wal import is_locked, wal_backoff

_NO_STORE = "Resume mode needs CheckpointConfig(sqlite_dir=... or sqlite_path=...) on one host, or postgres_url."
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


class CheckpointConfig(BaseModel):
    """Where a run keeps its durable state: resume mode's checkpoints, and every run's call log
    (`reasoning.call_log`, in the same database, under the same owner record). SQLite on one
    host, Postgres on several.

    Attributes:
        sqlite_dir: one SQLite database per job, ``<sqlite_dir>/<job>.sqlite``, where the
            job is the thread id up to its first "/" (the activity's workflow id).
        sqlite_path: one shared SQLite file for every thread instead (a paused writer then
            stalls every job's checkpoints; kept for notebooks and explicit choice).
        postgres_url: a Postgres database shared by workers on several hosts.
        busy_timeout_s: how long a write waits for another writer's lock (SQLite's busy
            timeout, Postgres's lock_timeout) before failing with CheckpointBusyError.
        call_log: log every model call of runs that have a thread id here, in both recovery
            modes, so a retry replays the calls that had finished.
    """

    sqlite_path: Path | None = None
    sqlite_dir: Path | None = None
    postgres_url: str | None = None
    busy_timeout_s: float = Field(default=30.0, gt=0)
    call_log: bool = True

    def sqlite_file(self, thread_id: str) -> Path:
        """The SQLite database that holds `thread_id`."""
        if self.sqlite_dir is not None:
            return self.sqlite_dir / f"{database_name(thread_id)}.sqlite"
        if self.sqlite_path is None:
            raise ConfigError(_NO_STORE)
        return self.sqlite_path


def database_name(thread_id: str) -> str:
    """The per-job database name for a thread: its job part, or a hash if that is not a safe file name."""
    job = thread_id.split("/", 1)[0]
    if _SAFE_NAME.fullmatch(job) and job not in (".", ".."):
        return job
    return "job-" + hashlib.sha256(job.encode()).hexdigest()[:16]


@contextlib.asynccontextmanager
async def open_saver(checkpoint: CheckpointConfig | None, thread_id: str, attempt: int | None) -> AsyncIterator[Any]:
    """Open the checkpointer for `thread_id`; with an `attempt`, fenced and claimed for it.

    Raises:
        ConfigError: no store is configured, or Postgres is asked for without its extra.
        SupersededAttemptError: a higher attempt already owns the thread.
        CheckpointBusyError: the store stayed locked past the busy timeout.
    """
    if checkpoint is None:
        raise ConfigError(_NO_STORE)
    if checkpoint.postgres_url:
        async with _postgres(checkpoint, attempt) as saver:
            if attempt is not None:
                await saver.claim(thread_id)
            yield saver
        return
    async with _sqlite(checkpoint.sqlite_file(thread_id), checkpoint.busy_timeout_s, attempt) as saver:
        if attempt is not None:
            await saver.claim(thread_id)
        yield saver


@contextlib.asynccontextmanager
async def _sqlite(path: Path, busy_timeout_s: float, attempt: int | None) -> AsyncIterator[Any]:
    import aiosqlite
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    from reasoning.fencing.sqlite import FencedSqliteSaver

    path.parent.mkdir(parents=True, exist_ok=True)
    # sqlite3's `timeout` is SQLite's busy timeout: how long a statement waits for the lock.
    async with aiosqlite.connect(str(path), timeout=busy_timeout_s) as conn:
        saver = AsyncSqliteSaver(conn) if attempt is None else FencedSqliteSaver(conn, attempt=attempt)
        try:
            await _set_up(saver, path, busy_timeout_s)
            yield saver
        finally:
            await _end_writes(saver)


async def _end_writes(saver: Any) -> None:
    """Close the connection with nothing left open, before LangGraph's abandoned writes can start.

    When a node raises, LangGraph stops the run while tasks that save other tasks' writes may
    still be pending; one that begins its INSERT after this and never reaches its COMMIT leaves a
    write transaction on a closed connection, which SQLite keeps alive, write lock and all, until
    the statement is garbage-collected: the next attempt in the same worker then waited out its
    whole busy timeout to claim the thread. So: take the saver's own lock (its writes hold it from
    INSERT to COMMIT), roll back whatever is open, and close while holding it; a write that comes
    later finds the connection closed and fails, as the run it belongs to already has.
    """
    with contextlib.suppress(Exception):  # a broken connection has no lock worth freeing
        async with saver.lock:
            await saver.conn.rollback()
            await saver.conn.close()


async def _set_up(saver: Any, path: Path, busy_timeout_s: float) -> None:
    """LangGraph's setup, retried while another connection turns a new database to WAL.

    Setup's ``PRAGMA journal_mode=WAL`` fails with "database is locked" at once when another
    connection is switching the same new file (`retrieval.sqlite_wal`): a job's subtasks open
    their job's new database together, so the first attempts of a resume-mode job failed that
    way now and then.
    """
    waits = wal_backoff(busy_timeout_s)
    while True:
        try:
            await saver.setup()
            return
        except sqlite3.OperationalError as exc:
            if not is_locked(exc):
                raise
            delay = next(waits, None)
            if delay is None:
                raise CheckpointBusyError(f"setting up {path.name}: {exc}") from exc
        await asyncio.sleep(delay)


@contextlib.asynccontextmanager
async def _postgres(checkpoint: CheckpointConfig, attempt: int | None) -> AsyncIterator[Any]:
    try:
        from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
        from psycopg import AsyncConnection
        from psycopg.rows import dict_row

        from reasoning.fencing.postgres import FencedPostgresSaver
    except ImportError as exc:
        raise ConfigError("Postgres checkpoints need the extra: pip install 'durable-research[postgres]'.") from exc
    url = str(checkpoint.postgres_url)
    # The same connection settings AsyncPostgresSaver.from_conn_string uses.
    async with await AsyncConnection.connect(url, autocommit=True, prepare_threshold=0, row_factory=dict_row) as conn:
        if attempt is None:
            saver: Any = AsyncPostgresSaver(conn)
            await saver.setup()
        else:
            saver = FencedPostgresSaver(conn, attempt=attempt)
            await saver.fence(checkpoint.busy_timeout_s)
        yield saver
