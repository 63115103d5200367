"""Retention of externally stored payloads: remove the blobs of closed jobs, keep every running job's.

A job's blobs live in one folder named by its workflow id (`store`), so the
question "may this blob go?" is "is that workflow closed, and for how long?", answered
by one `describe` per folder. Continue-as-new keeps the workflow id, so a running
continuation keeps the blobs its earlier runs wrote; a workflow the server no longer
knows (deleted by namespace retention) counts as closed since the folder's last write.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from orchestration.payloads.store import UNSCOPED, workflow_id_of


@dataclass
class PruneReport:
    removed: dict[str, int] = field(default_factory=dict)  # job id -> bytes freed
    kept: dict[str, str] = field(default_factory=dict)  # job id -> why

    @property
    def bytes_freed(self) -> int:
        return sum(self.removed.values())


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


async def closed_at(client: Client, job_id: str, folder: Path) -> float | None:
    """When the job's latest run closed (epoch seconds), or None while it runs.

    A job the server no longer knows (namespace retention deleted it) counts as closed since
    `folder`'s last change (the place its leftovers live)."""
    try:
        desc = await client.get_workflow_handle(job_id).describe()
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return folder.stat().st_mtime
        raise
    if desc.status in (None, WorkflowExecutionStatus.RUNNING):
        return None
    return desc.close_time.timestamp() if desc.close_time else folder.stat().st_mtime


async def prune_payloads(client: Client, root: Path, *, older_than_s: float, job: str | None = None) -> PruneReport:
    """Remove the blob folders of jobs closed at least `older_than_s` ago (only `job`'s when given)."""
    report = PruneReport()
    if not root.is_dir():
        return report
    now = time.time()
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and p.name != UNSCOPED):
        job_id = workflow_id_of(folder.name)
        if job is not None and job_id != job:
            continue
        closed = await closed_at(client, job_id, folder)
        if closed is None:
            report.kept[job_id] = "running"
        elif now - closed < older_than_s:
            report.kept[job_id] = f"closed {(now - closed) / 86400:.1f} days ago"
        else:
            size = _folder_bytes(folder)
            shutil.rmtree(folder)
            report.removed[job_id] = size
    return report
