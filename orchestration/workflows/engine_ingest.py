"""A research job's large corpus, ingested by the batch engine as a child workflow.

An activity resolves the sources into a manifest (workflows do no I/O); when it holds at
least the spec's threshold of documents, a `BatchJob` child in `ingest` mode chunks and
indexes them in shards and micro-batches, with progress (`status <job>/ingest`) and
resumption after a crash, instead of one activity over the whole corpus.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from orchestration.shared import names
    from orchestration.shared.batch import BatchInput, BatchResult, BatchSpec, ManifestRef, ManifestRequest
    from orchestration.shared.messages import IngestSummary, TaskQueues, Tuning
    from orchestration.shared.spec import ApprovalPolicy, JobSpec
    from orchestration.workflows.options import ActivityOptions


async def ingest_through_engine(
    spec: JobSpec, queues: TaskQueues, tuning: Tuning, opts: ActivityOptions
) -> IngestSummary | None:
    """Ingest through the engine; None when the corpus is under the threshold (the caller's activity runs)."""
    job = workflow.info().workflow_id
    manifest = await workflow.execute_activity(
        names.BATCH_MANIFEST,
        ManifestRequest(job_id=job, sources=spec.corpus),
        result_type=ManifestRef,
        summary="corpus manifest",
        **opts.ingest().kwargs(),
    )
    if manifest.total < (spec.ingest_engine_min_documents or 0):
        return None
    batch = BatchSpec(
        task="ingest", collection=spec.collection, model=spec.model, parallelism=spec.parallelism,
        approval=ApprovalPolicy(required=False),
    )  # fmt: skip
    result = await workflow.execute_child_workflow(
        names.BATCH_WORKFLOW,
        BatchInput(spec=batch, manifest_key=manifest.key, total=manifest.total, queues=queues, tuning=tuning),
        id=f"{job}/ingest",
        task_queue=queues.workflows,
        result_type=BatchResult,
        static_summary=f"ingest {manifest.total} documents",
    )
    return IngestSummary(
        files=result.done, chunks=result.chunks, skipped=result.failed,
        warnings=[f"ingested by the batch engine as {job}/ingest"],
    )  # fmt: skip
