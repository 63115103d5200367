"""Starting a batch from the edge (CLI, notebook, tests): check, write the manifest, start.

Everything a user can get wrong is refused here, before the workflow starts: an unknown
graph, a graph whose models do not fit a per-document or reduce step, a job id in use,
sources in which nothing is readable. One unreadable line among many manifest lines is
not refused: that document fails alone, with its reason.
"""

from __future__ import annotations

import asyncio
import uuid

from temporalio.service import RPCError, RPCStatusCode

from orchestration.activities.manifest import ManifestSummary, write_manifest
from orchestration.artifacts import LocalArtifactStore, job_has_artifacts
from orchestration.batch_client import BatchClient, BatchHandle
from orchestration.client import JobExistsError
from orchestration.edge.preflight import READABLE
from orchestration.errors import ConfigError
from orchestration.shared.batch import BatchSpec, results_collection
from orchestration.shared.spec import check_job_id, reports_collection
from reasoning import GraphRegistry, ReasoningError, check_batch_graph
from retrieval import MemorySettings, RetrievalError, check_sources, has_readable_document, validate_collection_name


def new_batch_id() -> str:
    return f"batch-{uuid.uuid4().hex[:10]}"


def check_batch(spec: BatchSpec, registry: GraphRegistry, job_id: str, store: LocalArtifactStore) -> None:
    """Raise ConfigError naming every problem with the spec and the id at once."""
    problems: list[str] = []
    for key, step in ((spec.graph, "document"), (spec.reduce_graph, "reduce")):
        try:
            check_batch_graph(registry, key, step)  # type: ignore[arg-type]
        except ReasoningError as exc:
            problems.append(str(exc))
    for jid in (job_id, spec.reuse_job):
        if jid is None:
            continue
        try:
            check_job_id(jid)
        except ValueError as exc:
            problems.append(str(exc))
    if spec.reuse_job and not job_has_artifacts(store, spec.reuse_job):
        problems.append(f"--reuse {spec.reuse_job}: no batch with that id left results here")
    for name in (results_collection(job_id), reports_collection(results_collection(job_id))):
        try:
            validate_collection_name(name)
        except RetrievalError as exc:
            problems.append(f"job id: {exc}")
    if not problems and job_has_artifacts(store, job_id):
        problems.append(f"job id '{job_id}' is already in use (an earlier job left its artifacts); pick another")
    if problems:
        raise ConfigError("; ".join(problems))


async def start_batch(
    client: BatchClient,
    spec: BatchSpec,
    sources: list[str],
    *,
    store: LocalArtifactStore,
    memory: MemorySettings,
    registry: GraphRegistry,
    job_id: str | None = None,
) -> tuple[BatchHandle, ManifestSummary]:
    """Check, write the manifest, start the batch; returns its handle and the manifest's summary.

    Raises:
        ConfigError: bad spec, id, or sources (nothing started, nothing written).
        JobExistsError: the server already knows this id.
    """
    job_id = job_id or new_batch_id()
    if not sources:
        raise ConfigError("give at least one SOURCE: a folder, a file, pkgdocs:PACKAGE or manifest:FILE")
    check_batch(spec, registry, job_id, store)
    try:  # a missing path or a FIFO gets its own line before the blanket "no readable document"
        check_sources([source for source in sources if not source.startswith("manifest:")])
    except RetrievalError as exc:
        raise ConfigError(str(exc)) from None
    if not has_readable_document(sources):  # before the manifest: nothing written for a batch that cannot run
        raise ConfigError(f"no readable document in {', '.join(sources)} ({READABLE})")
    try:
        await client.client.get_workflow_handle(job_id).describe()
        raise JobExistsError(f"job id '{job_id}' is already in use; pick another --job-id")
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise
    summary = await asyncio.to_thread(write_manifest, store, job_id, sources, memory)
    handle = await client.start(spec, job_id=job_id, manifest_key=summary.key, total=summary.total)
    return handle, summary
