"""`durable-research prune`: remove what closed jobs leave behind, never a running job's.

What a job leaves, per workflow id (a research job, a batch and each of its children):
- its externally stored payloads (`payloads/<workflow id>/`, `orchestration.payloads.store`);
- its checkpoint database with its call log (`checkpoints/<workflow id>.sqlite`, or its rows in
  a shared file or in Postgres: `reasoning.retention`);
- its usage ledgers (`artifacts/ledger/<workflow id>/`);
- with `artifacts=True` only, its artifacts (`artifacts/jobs/<workflow id>/`: findings, reports,
  batch records and results; the published report and the outbox are kept, they are the output).

A workflow id goes only when the server says it is closed (or no longer knows it) and it closed
at least `older_than_s` ago: the same rule as `payloads prune`, asked once per id.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from temporalio.client import Client

from orchestration.activities import WorkerDeps
from orchestration.artifacts import USAGE_LEDGER_FOLDER, artifact_store
from orchestration.edge.env import Environment
from orchestration.payloads.converter import payloads_root
from orchestration.payloads.retention import closed_at
from orchestration.payloads.store import UNSCOPED, workflow_id_of
from reasoning.checkpoints import database_name
from reasoning.retention import forget_job, stored_jobs

KINDS = ("payloads", "checkpoints", "ledgers", "artifacts")


@dataclass
class JobPruneReport:
    """What went (workflow id -> {kind: bytes, or rows in Postgres}) and what stayed, with why."""

    removed: dict[str, dict[str, int]] = field(default_factory=dict)
    kept: dict[str, str] = field(default_factory=dict)

    @property
    def bytes_freed(self) -> int:
        return sum(sum(kinds.values()) for kinds in self.removed.values())


def _folders(root: Path) -> dict[str, Path]:
    if not root.is_dir():
        return {}
    return {workflow_id_of(p.name): p for p in root.iterdir() if p.is_dir() and p.name != UNSCOPED}


def _bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


async def prune_jobs(
    client: Client, environment: Environment, *, older_than_s: float, job: str | None = None, artifacts: bool = False
) -> JobPruneReport:
    """Remove the state of workflows closed at least `older_than_s` ago (only `job`'s when given)."""
    home = environment.orchestration.home
    checkpoint = WorkerDeps.from_settings(
        home, environment.memory, environment.model, environment.checkpoint
    ).checkpoint
    store = artifact_store(home)
    folders = {
        "payloads": _folders(payloads_root(environment.orchestration)),
        "ledgers": _folders(store.root / USAGE_LEDGER_FOLDER),
        "artifacts": _folders(store.root / "jobs") if artifacts else {},
    }
    stored = stored_jobs(checkpoint)
    report = JobPruneReport()
    ids = sorted(set(stored).union(*(f.keys() for f in folders.values())))
    for workflow_id in ids if job is None else [i for i in ids if i == job]:
        places = [f[workflow_id] for f in folders.values() if workflow_id in f]
        if checkpoint.sqlite_dir is not None:
            places.append(checkpoint.sqlite_dir / f"{database_name(workflow_id + '/')}.sqlite")
        places = [p for p in places if p.exists()]
        # Where the job's leftovers last changed: its age when the server no longer knows it.
        newest = max(places, key=lambda p: p.stat().st_mtime) if places else home
        closed = await closed_at(client, workflow_id, newest)
        if closed is None:
            report.kept[workflow_id] = "running"
            continue
        if _age_s(closed) < older_than_s:
            report.kept[workflow_id] = f"closed {_age_s(closed) / 86400:.1f} days ago"
            continue
        removed: dict[str, int] = {}
        for kind, found in folders.items():
            if workflow_id in found:
                removed[kind] = _bytes(found[workflow_id])
                shutil.rmtree(found[workflow_id])
        if workflow_id in stored:
            removed["checkpoints"] = forget_job(checkpoint, workflow_id)
        report.removed[workflow_id] = removed
    return report


def _age_s(closed: float) -> float:
    return time.time() - closed
