"""Artifact store and its layout: findings and reports live here; workflow history holds only their keys.

Every key names its job, and the job's run and report revision where there can be
several, so two runs never share an artifact or a notification key.
"""

from __future__ import annotations

import re
from pathlib import Path

from orchestration.atomic_file import write_atomic
from orchestration.errors import ConfigError

_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/@:-]*$")
_REPORT = re.compile(r"/run(\d+)/report-v(\d+)\.md$")


def finding_key(job_id: str, subtask_id: str, round_: int) -> str:
    return f"jobs/{job_id}/findings/{subtask_id}-r{round_}.json"


def report_key(job_id: str, run_number: int, revision: int) -> str:
    return f"jobs/{job_id}/run{run_number}/report-v{revision}.md"


def batch_report_key(job_id: str, round_: int, revision: int = 0) -> str:
    """A batch's report after retry round `round_`, re-reduced `revision` times with a reviewer's notes."""
    key = report_key(job_id, 1, round_)
    return key if not revision else key.removesuffix(".md") + f"-r{revision}.md"


# --- the batch engine: a manifest in parts, one record per document, results by content hash ---

MANIFEST_PART = 1000
"""Manifest lines per part file: a micro-batch reads one or two parts, never the whole list."""


def manifest_key(job_id: str) -> str:
    return f"jobs/{job_id}/manifest"


def manifest_part_key(manifest: str, part: int) -> str:
    return f"{manifest}/part-{part:06d}.jsonl"


def doc_record_key(job_id: str, index: int) -> str:
    """What happened to manifest entry `index`: its content hash and result key, or its failure."""
    return f"jobs/{job_id}/docs/{index:08d}.json"


def result_key(job_id: str, content_hash: str) -> str:
    """One result per (job, document content hash): a retry or a duplicate document writes the same file."""
    return f"jobs/{job_id}/results/{content_hash}.json"


def reduction_key(job_id: str, round_: int, level: int, group: int) -> str:
    return f"jobs/{job_id}/reduce/r{round_}/L{level}-{group:06d}.json"


USAGE_LEDGER_FOLDER = "ledger"
"""Top folder of the usage ledgers: bookkeeping for accounting, not artifacts a result names."""


def usage_ledger_key(workflow_id: str, run_id: str, activity_id: str) -> str:
    """The folder of one activity's usage ledger: a file per attempt, `attempt-NNN.jsonl`."""
    return f"{USAGE_LEDGER_FOLDER}/{workflow_id}/{run_id}/{activity_id}"


def published_key(job_id: str) -> str:
    """The job's current published report (a recurring job's latest run replaces it)."""
    return f"published/{job_id}.md"


def _report_tag(key: str) -> str:
    match = _REPORT.search(key)
    return f"run{match[1]}-v{match[2]}" if match else key.replace("/", "_")


def notification_key(job_id: str, kind: str, report: str) -> str:
    """Idempotency key of one notification: a retry repeats it, another run or revision never does."""
    return f"{job_id}:{kind}:{_report_tag(report)}"


def outbox_key(job_id: str, kind: str, report: str) -> str:
    return f"outbox/{job_id}/{_report_tag(report)}--{kind}.json"


def job_has_artifacts(store: LocalArtifactStore, job_id: str) -> bool:
    """True when an earlier job with this id left findings, reports or notifications here."""
    root = store.root
    return any(
        path.exists() for path in (root / "jobs" / job_id, root / published_key(job_id), root / "outbox" / job_id)
    )


def artifact_store(home: Path) -> LocalArtifactStore:
    """The store of a state folder: `<home>/artifacts` (clients and workers must agree on it)."""
    return LocalArtifactStore(home / "artifacts")


class LocalArtifactStore:
    """Files under one root folder (a shared mount when workers run on several hosts).

    Writes are atomic (temp file + rename) and idempotent: writing the same key twice
    leaves one file, so an activity retry never duplicates an artifact.
    """

    def __init__(self, root: Path) -> None:
        self.root = root.expanduser().resolve()

    def path(self, key: str) -> Path:
        if not _KEY.match(key) or ".." in key:
            raise ConfigError(f"artifact key '{key}' must be a relative path without '..'")
        return self.root / key

    def put_text(self, key: str, text: str) -> Path:
        target = self.path(key)
        # No fsync: a batch writes thousands of small artifacts, and one fsync each would tie its
        # pace to the disk's flush latency; the rename alone keeps readers from a torn file.
        try:  # the folder usually exists (a batch writes thousands of files into one): no mkdir call
            write_atomic(target, text, fsync=False)
        except FileNotFoundError:
            target.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(target, text, fsync=False)
        return target

    def get_text(self, key: str) -> str:
        try:
            return self.path(key).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(
                f"artifact '{key}' is not in {self.root}; workers and clients must share "
                "the state folder (DURABLE_RESEARCH_HOME)"
            ) from None

    def keys(self, prefix: str) -> list[str]:
        """Keys of the files under folder `prefix`, sorted (for listings such as a batch's records)."""
        folder = self.path(prefix)
        if not folder.is_dir():
            return []
        return sorted(f"{prefix}/{p.name}" for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))

    def exists(self, key: str) -> bool:
        return self.path(key).exists()

    def delete(self, key: str) -> bool:
        try:
            self.path(key).unlink()
            return True
        except FileNotFoundError:
            return False
