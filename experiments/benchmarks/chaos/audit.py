"""Checkpoint chains after the run: forked threads and graphs re-run from their input.

`checkpoint_audit` has the signature of the fencing work's `reasoning.checkpoint_audit`
(issue 16); while that is not on main, this module's own SQL stands in for it, and the
benchmark calls nothing else, so swapping one for the other touches only this file.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

# One parent with two children in one thread and namespace: two writers forked the chain.
_FORKED = """
SELECT COUNT(DISTINCT thread_id) FROM (
    SELECT thread_id FROM checkpoints WHERE parent_checkpoint_id IS NOT NULL
    GROUP BY thread_id, checkpoint_ns, parent_checkpoint_id HAVING COUNT(*) > 1
)
"""
# An "input" checkpoint on a thread that already had a checkpoint (ids are time-ordered
# uuid6): the graph was started again from its input on top of an existing chain.
_RERUN = """
SELECT COUNT(*) FROM checkpoints AS c
WHERE json_extract(CAST(c.metadata AS TEXT), '$.source') = 'input'
  AND EXISTS (
    SELECT 1 FROM checkpoints AS e
    WHERE e.thread_id = c.thread_id AND e.checkpoint_ns = c.checkpoint_ns AND e.checkpoint_id < c.checkpoint_id
  )
"""


def checkpoint_audit(sqlite_path: str | Path) -> dict[str, int]:
    """Count threads, forked threads and re-runs from input in SQLite checkpoint stores.

    Args:
        sqlite_path: one checkpoint database, or a folder of them (``*.sqlite``); a path
            that does not exist counts as empty.

    Returns:
        ``{"databases", "threads", "checkpoints", "forked_threads", "rerun_from_input"}``.
    """
    path = Path(sqlite_path)
    files = sorted(path.glob("*.sqlite")) if path.is_dir() else [path] if path.exists() else []
    totals = {"databases": 0, "threads": 0, "checkpoints": 0, "forked_threads": 0, "rerun_from_input": 0}
    for file in files:
        conn = sqlite3.connect(f"{file.resolve().as_uri()}?mode=ro", uri=True)
        try:
            if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'checkpoints'").fetchone():
                continue
            totals["databases"] += 1
            totals["threads"] += conn.execute("SELECT COUNT(DISTINCT thread_id) FROM checkpoints").fetchone()[0]
            totals["checkpoints"] += conn.execute("SELECT COUNT(*) FROM checkpoints").fetchone()[0]
            totals["forked_threads"] += conn.execute(_FORKED).fetchone()[0]
            totals["rerun_from_input"] += conn.execute(_RERUN).fetchone()[0]
        finally:
            conn.close()
    return totals


def audit_home(home: Path) -> dict[str, int]:
    """Audit every checkpoint store a worker may have used under the state folder."""
    totals: dict[str, int] = {}
    for candidate in (home / "checkpoints.sqlite", home / "checkpoints"):
        for key, value in checkpoint_audit(candidate).items():
            totals[key] = totals.get(key, 0) + value
    return totals
