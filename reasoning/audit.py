"""Audit a resume-mode checkpoint store for forked chains and graphs re-run from their input."""

from __future__ import annotations

import sqlite3
from pathlib import Path

_FORKED = """
SELECT COUNT(DISTINCT thread_id) FROM (
    SELECT thread_id FROM checkpoints WHERE parent_checkpoint_id IS NOT NULL
    GROUP BY thread_id, checkpoint_ns, parent_checkpoint_id HAVING COUNT(*) > 1
)
"""

# LangGraph writes a checkpoint with source "input" when a run starts from an input; one
# with a parent means the input was applied on top of a thread that already had a chain.
_RERUN = """
SELECT COUNT(*) FROM checkpoints
WHERE parent_checkpoint_id IS NOT NULL AND json_extract(CAST(metadata AS TEXT), '$.source') = 'input'
"""


def checkpoint_audit(sqlite_path: str | Path) -> dict[str, int]:
    """Count threads, forked threads and re-runs from input in SQLite checkpoint stores.

    Read-only; meant for tests and the chaos benchmark, after the jobs finished.

    Args:
        sqlite_path: one checkpoint database, or a folder of per-job databases
            (``*.sqlite``, as `CheckpointConfig.sqlite_dir` lays them out); a folder
            or file that does not exist counts as empty.

    Returns:
        ``{"databases", "threads", "checkpoints", "forked_threads", "rerun_from_input"}``:
        ``forked_threads`` counts threads where one checkpoint has two children in the same
        namespace (two writers forked the chain); ``rerun_from_input`` counts input
        checkpoints written on a thread that already had checkpoints. Both are 0 when
        fencing and the resume decision work.
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
