"""What a job's graph runs keep in the checkpoint store, and removing it once the job is closed.

Checkpoints (resume mode) and the call log (both modes) share one store: on one host a SQLite
database per job (`CheckpointConfig.sqlite_dir`) or one shared file (`sqlite_path`), on several
Postgres. A job is the part of a thread id before its first "/" (the activity's workflow id).
Whether a job may go (is it closed, for how long) is the caller's question: this module only
lists and removes. Never call `forget_job` for a running job: its next write would recreate a
partial store.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from reasoning.checkpoints import CheckpointConfig, database_name

# Every table a graph run writes, each keyed by thread_id: LangGraph's, the owner record, the log.
_SQLITE_TABLES = ("checkpoints", "writes", "thread_owner", "call_log")
_POSTGRES_TABLES = ("checkpoints", "checkpoint_blobs", "checkpoint_writes", "thread_owner", "call_log")


def stored_jobs(config: CheckpointConfig) -> dict[str, int]:
    """Jobs with something in the store, and its size (bytes on SQLite, rows on Postgres)."""
    if config.postgres_url:
        return _postgres_jobs(config.postgres_url)
    if config.sqlite_dir is not None:
        out: dict[str, int] = {}
        for file in sorted(config.sqlite_dir.glob("*.sqlite")) if config.sqlite_dir.is_dir() else []:
            for job in _jobs_in(file) or [file.stem]:
                out[job] = out.get(job, 0) + _file_bytes(file)
        return out
    if config.sqlite_path is not None and config.sqlite_path.exists():
        return dict.fromkeys(_jobs_in(config.sqlite_path), 0)  # one file for all: no size per job
    return {}


def forget_job(config: CheckpointConfig, job: str) -> int:
    """Remove `job`'s checkpoints and call log; the bytes (or rows) removed."""
    if config.postgres_url:
        return _postgres_forget(config.postgres_url, job)
    if config.sqlite_dir is not None:
        file = config.sqlite_dir / f"{database_name(f'{job}/')}.sqlite"
        size = _file_bytes(file)
        for path in (file, file.with_name(file.name + "-wal"), file.with_name(file.name + "-shm")):
            path.unlink(missing_ok=True)
        return size
    if config.sqlite_path is not None and config.sqlite_path.exists():
        with sqlite3.connect(config.sqlite_path) as conn:
            return sum(_delete(conn, table, job) for table in _SQLITE_TABLES)
    return 0


def _jobs_in(file: Path) -> list[str]:
    """The jobs whose threads a database holds (its owner records, else its checkpoints)."""
    try:
        conn = sqlite3.connect(f"{file.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:
        return []
    try:
        threads: set[str] = set()
        for table in ("thread_owner", "checkpoints"):
            if conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (table,)).fetchone():
                threads |= {row[0] for row in conn.execute(f"SELECT DISTINCT thread_id FROM {table}")}
        return sorted({t.split("/", 1)[0] for t in threads})
    except sqlite3.Error:
        return []
    finally:
        conn.close()


def _delete(conn: sqlite3.Connection, table: str, job: str) -> int:
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (table,)).fetchone():
        return 0
    return conn.execute(f"DELETE FROM {table} WHERE thread_id LIKE ? ESCAPE '\\'", (_like(job),)).rowcount


def _like(job: str) -> str:
    """A LIKE pattern for the threads of `job` (its own '%' and '_' taken literally)."""
    return job.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "/%"


def _file_bytes(file: Path) -> int:
    return sum(p.stat().st_size for p in (file, file.with_name(file.name + "-wal")) if p.exists())


def _postgres_jobs(url: str) -> dict[str, int]:
    import psycopg

    with psycopg.connect(url) as conn:
        if conn.execute("SELECT to_regclass('thread_owner')").fetchone()[0] is None:  # type: ignore[index]
            return {}
        rows = conn.execute("SELECT split_part(thread_id, '/', 1), COUNT(*) FROM thread_owner GROUP BY 1").fetchall()
    return {str(job): int(count) for job, count in rows}


def _postgres_forget(url: str, job: str) -> int:
    import psycopg

    removed = 0
    with psycopg.connect(url) as conn:
        for table in _POSTGRES_TABLES:
            if conn.execute("SELECT to_regclass(%s)", (table,)).fetchone()[0] is None:  # type: ignore[index]
                continue
            cur = conn.execute(f"DELETE FROM {table} WHERE thread_id LIKE %s ESCAPE '\\'", (_like(job),))
            removed += cur.rowcount
    return removed
