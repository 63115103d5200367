"""Checkpoint chains after the run: forked threads and graphs re-run from their input.

The counting is `reasoning.checkpoint_audit` (the fencing work of issue 16); this module
only knows where the benchmark's workers keep their checkpoint stores.
"""

from __future__ import annotations

from pathlib import Path

from reasoning import checkpoint_audit

__all__ = ["audit_home", "checkpoint_audit"]


def audit_home(home: Path) -> dict[str, int]:
    """Audit every checkpoint store a worker may have used under the state folder.

    Workers keep one database per job in ``<home>/checkpoints/`` unless
    DURABLE_RESEARCH_CHECKPOINT_SQLITE_PATH names one shared file.
    """
    totals: dict[str, int] = {}
    for candidate in (home / "checkpoints.sqlite", home / "checkpoints"):
        for key, value in checkpoint_audit(candidate).items():
            totals[key] = totals.get(key, 0) + value
    return totals
