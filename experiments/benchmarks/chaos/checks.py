"""What must hold after the chaos: every job completed with the reference report, and no side
effect (memory document, artifact, notification) happened twice."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from experiments.benchmarks.chaos.jobs import JobOutcome
from orchestration.artifacts import USAGE_LEDGER_FOLDER
from orchestration.shared import JobResult


def report_checks(references: dict[int, str | None], outcomes: list[JobOutcome]) -> dict[str, Any]:
    """Completion and identical reports, job by job, against the crash-free reference of its spec."""
    completed = [o for o in outcomes if o.status == "completed"]
    different = [o.job_id for o in completed if o.report is None or o.report != references.get(o.spec_index)]
    return {
        "jobs": len(outcomes),
        "completed": len(completed),
        "not_completed": sorted(
            f"{o.job_id}: {o.status} {o.error or ''}".strip() for o in outcomes if o.status != "completed"
        ),
        "identical_reports": len(completed) - len(different),
        "different_reports": sorted(different),
    }


def memory_duplicates(chroma_url: str, collections: list[str]) -> dict[str, Any]:
    """Per collection: documents stored vs distinct contents (text + metadata); the gap is duplicates."""
    import chromadb

    url = urlparse(chroma_url)
    client = chromadb.HttpClient(host=url.hostname or "127.0.0.1", port=url.port or 8000)
    out: dict[str, Any] = {}
    existing = {c.name for c in client.list_collections()}
    for name in collections:
        if name not in existing:
            out[name] = {"documents": 0, "distinct": 0, "duplicates": 0}
            continue
        got = client.get_collection(name).get(include=["documents", "metadatas"])  # type: ignore[list-item]
        docs, metas = got["documents"] or [], got["metadatas"] or []
        keys = {_content_key(doc, meta) for doc, meta in zip(docs, metas, strict=True)}
        out[name] = {"documents": len(docs), "distinct": len(keys), "duplicates": len(docs) - len(keys)}
    return out


def _content_key(text: str | None, meta: Any) -> str:
    blob = json.dumps({"text": text, "meta": dict(meta or {})}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def artifact_checks(artifacts: Path, results: list[JobResult]) -> dict[str, Any]:
    """Files each job should have left (its findings, report, published copy) vs what is there.

    An extra file under a job's folder or a second published copy is a duplicate; a
    leftover temp file is a write cut short by a kill (harmless, but counted).
    """
    expected: dict[str, set[Path]] = {}
    for result in results:
        files = {artifacts / t.result.finding_key for t in result.subtasks if t.result is not None}
        if result.report is not None:
            files.add(artifacts / result.report.key)
        files |= {Path(p.ref) for p in result.published if p.step == "artifact"}
        expected[result.job_id] = {f.resolve() for f in files}
    root = artifacts.resolve()
    # Outbox entries are checked by notification_checks; usage ledgers are bookkeeping, one file per attempt.
    all_files = [
        p.resolve() for p in artifacts.rglob("*")
        if p.is_file() and p.resolve().relative_to(root).parts[0] not in ("outbox", USAGE_LEDGER_FOLDER)
    ]  # fmt: skip
    extra, missing = 0, 0
    for job_id, files in expected.items():
        owned = {p for p in all_files if job_id in p.relative_to(root).as_posix()
                 and not p.name.endswith(".tmp")}  # fmt: skip
        extra += len(owned - files)
        missing += len(files - owned)
    stray = sum(1 for p in all_files if p.name.endswith(".tmp"))
    return {"duplicates": extra, "missing": missing, "stray_tmp_files": stray}


def notification_checks(artifacts: Path, results: list[JobResult]) -> dict[str, Any]:
    """One `published` notification per completed job in the outbox; more is a duplicate.

    Entries are counted per job and kind whatever the outbox layout (one folder per job,
    keyed by run and revision), so a second run or revision of a job would show here.
    """
    per_job: Counter[tuple[str, str]] = Counter()
    for file in (artifacts / "outbox").rglob("*.json"):
        payload = json.loads(file.read_text())
        per_job[(payload["job_id"], payload["kind"])] += 1
    completed = {r.job_id for r in results if r.status == "completed"}
    return {
        "notifications": sum(per_job.values()),
        "duplicates": sum(n - 1 for n in per_job.values() if n > 1),
        "retractions": sum(n for (_, kind), n in per_job.items() if kind == "retraction"),
        "missing": sum(1 for job in completed if per_job[(job, "published")] == 0),
    }
