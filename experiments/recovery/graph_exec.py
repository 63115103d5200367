"""Run the workload graph once, in `restart` or `resume` mode, with or without SQLite.

This is the local twin of the runner contract of ``reasoning.runner``: in `resume`
mode a thread with unfinished work continues with ``invoke(None)`` (never by
re-sending the input, which would start a new run on top of the old state), a thread
that already finished returns its final state, and a fresh thread runs the input.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from langgraph.checkpoint.sqlite import SqliteSaver

from experiments.recovery.workload import RunContext, build_graph, graph_input

Mode = Literal["restart", "resume"]
Durability = Literal["sync", "async", "exit"]


@contextmanager
def sqlite_saver(path: str) -> Iterator[SqliteSaver]:
    """A SqliteSaver on its own connection (shared by the graph's worker threads)."""
    conn = sqlite3.connect(path, check_same_thread=False)
    try:
        saver = SqliteSaver(conn)
        saver.setup()
        yield saver
    finally:
        conn.close()


def run_graph_once(
    context: RunContext,
    *,
    mode: Mode,
    checkpoint_path: str | None,
    thread_id: str,
    durability: Durability = "sync",
) -> tuple[dict[str, Any], bool]:
    """Run (or continue) one workload run to its end.

    Returns:
        The final state and whether this call resumed earlier work.
    """
    if checkpoint_path is None:
        return build_graph().compile().invoke(graph_input(), context=context), False
    with sqlite_saver(checkpoint_path) as saver:
        graph = build_graph().compile(checkpointer=saver)
        config: Any = {"configurable": {"thread_id": thread_id}}
        snapshot = graph.get_state(config)
        if mode == "resume" and snapshot.next:
            out = graph.invoke(None, config, context=context, durability=durability)
            return out, True
        if mode == "resume" and snapshot.values.get("answer"):
            return dict(snapshot.values), True
        out = graph.invoke(graph_input(), config, context=context, durability=durability)
        return out, False


def storage_bytes(path: str | None) -> int:
    """Bytes of a SQLite checkpoint database including its WAL (0 when absent)."""
    if path is None:
        return 0
    return sum(p.stat().st_size for p in Path(path).parent.glob(Path(path).name + "*"))


def thread_bytes(path: Path, thread_id: str) -> int:
    """Bytes the threads matching `thread_id` (a SQL LIKE pattern) keep in a SQLite checkpoint
    database: their checkpoints, pending writes and call-log entries (what a retry reads back).

    Sums the stored blobs, without SQLite's page and index overhead, so a run's figure does not
    depend on what else shares its file; tables a run's mode does not write count 0.
    """
    if not path.exists():
        return 0
    queries = {
        "checkpoints": "SELECT COALESCE(SUM(LENGTH(checkpoint) + LENGTH(metadata)), 0) FROM checkpoints"
        " WHERE thread_id LIKE ?",
        "writes": "SELECT COALESCE(SUM(LENGTH(value)), 0) FROM writes WHERE thread_id LIKE ?",
        "call_log": "SELECT COALESCE(SUM(LENGTH(payload)), 0) FROM call_log WHERE thread_id LIKE ?",
    }
    with contextlib.closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        return sum(int(conn.execute(sql, (thread_id,)).fetchone()[0]) for t, sql in queries.items() if t in tables)
