"""IO activities: ingest the corpus, and the publish saga's steps with their compensations.

All are synchronous (Chroma and file IO block) and run on the worker's thread pool.
Every side effect is keyed by the job id, so a retry or a repeated compensation
changes nothing the first call did not.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
from temporalio import activity
from temporalio.exceptions import ApplicationError

from orchestration.activities.deps import WorkerDeps
from orchestration.activities.errors import to_application_error
from orchestration.artifacts import notification_key, outbox_key, published_key
from orchestration.shared import names
from orchestration.shared.messages import IngestRequest, IngestSummary, PublishedStep, PublishRequest
from orchestration.shared.spec import reports_collection
from orchestration.telemetry.metrics import count_ingest_chunks
from reasoning.errors import is_retryable_status
from retrieval import IngestProgress, ingest, ingest_text

# A webhook that takes longer than this is treated as down; the retry policy tries again.
WEBHOOK_TIMEOUT_S = 10.0


class IoActivities:
    def __init__(self, deps: WorkerDeps) -> None:
        self._deps = deps

    @activity.defn(name=names.INGEST)
    def ingest_corpus(self, req: IngestRequest) -> IngestSummary:
        def progress(p: IngestProgress) -> None:
            activity.heartbeat(p.model_dump())

        try:
            report = ingest(
                req.sources,
                self._deps.memory(req.collection),
                settings=self._deps.memory_settings,
                progress=progress,
            )
        except Exception as exc:
            raise to_application_error(exc) from exc
        queue = activity.info().task_queue
        counts = {"added": report.added, "unchanged": report.unchanged, "replaced": report.replaced}
        for outcome, chunks in counts.items():
            count_ingest_chunks(activity.metric_meter(), chunks, queue=queue, outcome=outcome)
        return IngestSummary(
            files=report.files, chunks=report.chunks, added=report.added,
            unchanged=report.unchanged, replaced=report.replaced, skipped=len(report.skipped),
            warnings=[*report.warnings[:20], *(f"skipped {s}" for s in report.skipped[:20])],
        )  # fmt: skip

    # --- artifact ------------------------------------------------------------

    @activity.defn(name=names.PUBLISH_ARTIFACT)
    def publish_artifact(self, req: PublishRequest) -> PublishedStep:
        store = self._deps.artifacts
        path = store.put_text(published_key(req.job_id), store.get_text(req.report_key))
        return PublishedStep(step="artifact", ref=str(path))

    @activity.defn(name=names.UNPUBLISH_ARTIFACT)
    def unpublish_artifact(self, req: PublishRequest) -> PublishedStep:
        key = published_key(req.job_id)
        self._deps.artifacts.delete(key)
        return PublishedStep(step="artifact", ref=key)

    # --- semantic memory -----------------------------------------------------

    @activity.defn(name=names.INDEX_REPORT)
    def index_report(self, req: PublishRequest) -> PublishedStep:
        collection = reports_collection(req.collection)
        memory = self._deps.memory(collection)
        scope: dict[str, str] = {"report_of": req.job_id}
        # The corpus's own chunker and content-hash ids: a retry adds nothing.
        ids = ingest_text(
            f"report:{req.job_id}",
            self._deps.artifacts.get_text(req.report_key),
            memory,
            settings=self._deps.memory_settings,
            metadata=scope,
        )
        return PublishedStep(step="index", ref=collection, ids=ids)

    @activity.defn(name=names.UNINDEX_REPORT)
    def unindex_report(self, req: PublishRequest) -> PublishedStep:
        removed = self._deps.memory(reports_collection(req.collection)).delete(where={"report_of": req.job_id})
        return PublishedStep(step="index", ref=f"removed {removed}")

    # --- notification --------------------------------------------------------

    @activity.defn(name=names.NOTIFY)
    def notify(self, req: PublishRequest) -> PublishedStep:
        key = notification_key(req.job_id, req.kind, req.report_key)
        payload = {"idempotency_key": key, "job_id": req.job_id, "kind": req.kind,
                   "report": req.report_key, "message": req.message}  # fmt: skip
        self._deps.artifacts.put_text(outbox_key(req.job_id, req.kind, req.report_key), json.dumps(payload))
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


def _post(url: str, payload: dict[str, Any], key: str) -> None:
    """POST the notification; the Idempotency-Key lets the receiver drop a retry's repeat."""
    try:
        response = httpx.post(
            url, json=payload, headers={"Idempotency-Key": key}, timeout=WEBHOOK_TIMEOUT_S, follow_redirects=False
        )
    except httpx.HTTPError as err:
        raise ApplicationError(f"webhook {url} unreachable: {err}", type="WebhookError") from None
    if response.is_success:
        return
    raise ApplicationError(
        f"webhook {url} answered {response.status_code}",
        type="WebhookError",
        non_retryable=not is_retryable_status(response.status_code),
    )
