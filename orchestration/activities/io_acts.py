"""IO activities: ingest the corpus, and the publish saga's steps with their compensations.

All are synchronous (Chroma and file IO block) and run on the worker's thread pool.
Every side effect is keyed by the job id, so a retry or a repeated compensation
changes nothing the first call did not.
"""

from __future__ import annotations

import hashlib
import json
import urllib.error
import urllib.request
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from orchestration.activities.deps import WorkerDeps
from orchestration.activities.errors import to_application_error
from orchestration.shared import names
from orchestration.shared.messages import IngestRequest, IngestSummary, PublishedStep, PublishRequest


class IoActivities:
    def __init__(self, deps: WorkerDeps) -> None:
        self._deps = deps

    @activity.defn(name=names.INGEST)
    def ingest_corpus(self, req: IngestRequest) -> IngestSummary:
        from retrieval import ingest

        def progress(p: Any) -> None:
            activity.heartbeat(_scalars(p))

        try:
            report = ingest(
                req.sources,
                self._deps.memory(req.collection),
                settings=self._deps.memory_settings,
                progress=progress,
            )
        except Exception as exc:
            raise to_application_error(exc) from exc
        return IngestSummary(
            files=report.files, chunks=report.chunks, added=report.added,
            unchanged=report.unchanged, replaced=report.replaced, skipped=len(report.skipped),
            warnings=[*report.warnings[:20], *(f"skipped {s}" for s in report.skipped[:20])],
        )  # fmt: skip

    # --- artifact ------------------------------------------------------------

    def _published_key(self, job_id: str) -> str:
        return f"published/{job_id}.md"

    @activity.defn(name=names.PUBLISH_ARTIFACT)
    def publish_artifact(self, req: PublishRequest) -> PublishedStep:
        store = self._deps.artifacts
        path = store.put_text(self._published_key(req.job_id), store.get_text(req.report_key))
        return PublishedStep(step="artifact", ref=str(path))

    @activity.defn(name=names.UNPUBLISH_ARTIFACT)
    def unpublish_artifact(self, req: PublishRequest) -> PublishedStep:
        key = self._published_key(req.job_id)
        self._deps.artifacts.delete(key)
        return PublishedStep(step="artifact", ref=key)

    # --- semantic memory -----------------------------------------------------

    @activity.defn(name=names.INDEX_REPORT)
    def index_report(self, req: PublishRequest) -> PublishedStep:
        from retrieval import Document

        markdown = self._deps.artifacts.get_text(req.report_key)
        docs = [
            Document(
                id=hashlib.sha256(f"{req.job_id}\0{i}\0{chunk}".encode()).hexdigest()[:32],
                text=chunk,
                metadata={"source": f"report:{req.job_id}", "report_of": req.job_id, "chunk_index": i},
            )
            for i, chunk in enumerate(_sections(markdown))
        ]
        collection = reports_collection(req.collection)
        self._deps.memory(collection).upsert(docs)  # content-hash ids: a retry adds nothing
        return PublishedStep(step="index", ref=collection, ids=[d.id for d in docs])

    @activity.defn(name=names.UNINDEX_REPORT)
    def unindex_report(self, req: PublishRequest) -> PublishedStep:
        removed = self._deps.memory(reports_collection(req.collection)).delete(where={"report_of": req.job_id})
        return PublishedStep(step="index", ref=f"removed {removed}")

    # --- notification --------------------------------------------------------

    @activity.defn(name=names.NOTIFY)
    def notify(self, req: PublishRequest) -> PublishedStep:
        key = f"{req.job_id}:{req.kind}"
        payload = {"idempotency_key": key, "job_id": req.job_id, "kind": req.kind,
                   "report": req.report_key, "message": req.message}  # fmt: skip
        self._deps.artifacts.put_text(f"outbox/{req.job_id}--{req.kind}.json", json.dumps(payload))
        if req.webhook_url:
            _post(req.webhook_url, payload, key)
        return PublishedStep(step="notify", ref=key)

    @activity.defn(name=names.RETRACT_NOTIFICATION)
    def retract_notification(self, req: PublishRequest) -> PublishedStep:
        retraction = req.model_copy(update={"kind": "retraction", "message": "the report was withdrawn"})
        return self.notify(retraction)

    def all(self) -> list[Any]:
        return [
            self.ingest_corpus, self.publish_artifact, self.unpublish_artifact,
            self.index_report, self.unindex_report, self.notify, self.retract_notification,
        ]  # fmt: skip


def reports_collection(corpus_collection: str) -> str:
    """Published reports get their own collection: a recurring job's next run must not
    cite its own earlier report as evidence."""
    return f"{corpus_collection}-reports"


def _sections(markdown: str, size: int = 1200) -> list[str]:
    """Split a report at paragraph boundaries into chunks of about `size` characters."""
    chunks: list[str] = []
    current = ""
    for para in markdown.split("\n\n"):
        if current and len(current) + len(para) > size:
            chunks.append(current.strip())
            current = ""
        current += para + "\n\n"
    if current.strip():
        chunks.append(current.strip())
    return chunks


def _post(url: str, payload: dict[str, Any], key: str) -> None:
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), method="POST",
        headers={"Content-Type": "application/json", "Idempotency-Key": key},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=10):
            return
    except urllib.error.HTTPError as err:
        retryable = err.code in (408, 429) or err.code >= 500
        raise ApplicationError(
            f"webhook {url} answered {err.code}", type="WebhookError", non_retryable=not retryable
        ) from None
    except (urllib.error.URLError, OSError) as err:
        raise ApplicationError(f"webhook {url} unreachable: {err}", type="WebhookError") from None


def _scalars(obj: Any) -> dict[str, Any]:
    data = obj.model_dump() if hasattr(obj, "model_dump") else dict(getattr(obj, "__dict__", {}))
    return {k: v for k, v in data.items() if isinstance(v, (str, int, float, bool))}
