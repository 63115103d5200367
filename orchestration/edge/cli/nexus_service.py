"""The `DurableResearchV1` Nexus service handler: another namespace's workflows start jobs and batches here.

It is an inbound interface like the MCP server, so it lives at the edge: a request is checked by
the CLI's own code (`check_spec` and the spec model for `research`, `start_batch`'s checks for
`batch`) and refused with the line the CLI prints, before any workflow starts. The Temporal core
may not import these checks (the import contracts keep reasoning and retrieval behind the
activities, and the edge above everything), so `orchestration.worker` takes the handler as an
argument of `build_workers` instead of building it.

Refusals are `nexusrpc.HandlerError`s that are never retried: `BAD_REQUEST` for a spec, a source or
an id that is wrong, `CONFLICT` for a job id another job holds. `OperationError` is for an operation
that ran and failed; these requests never become one.

Idempotency: the workflow is started with the Nexus request id as its request id (the SDK does
that), and a request without a job id gets one derived from that request id, so the caller's
retries of one operation reach the same workflow id and the server answers with the run it
started, running or closed. A job id names one job for ever (`REJECT_DUPLICATE`), as for `run`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import uuid
from collections.abc import Iterator
from typing import Any, TypeVar

import nexusrpc
import nexusrpc.handler
from pydantic import BaseModel, ValidationError
from temporalio import nexus
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from orchestration.activities import WorkerDeps
from orchestration.artifacts import manifest_key
from orchestration.batch_client import BatchClient, BatchHandle
from orchestration.client import JobExistsError, id_in_use, new_job_id
from orchestration.edge.batch import start_batch
from orchestration.edge.cli.job_support import pydantic_problems
from orchestration.edge.preflight import check_job_id_unused, check_spec
from orchestration.errors import ConfigError
from orchestration.settings import OrchestrationSettings
from orchestration.shared import names
from orchestration.shared.batch import BatchInput, BatchResult, BatchSpec
from orchestration.shared.messages import JobInput, JobResult, TaskQueues, Tuning
from orchestration.shared.nexus_contract import BatchRequest, DurableResearchV1, ResearchRequest
from orchestration.shared.spec import JobSpec, check_job_id

_M = TypeVar("_M", bound=BaseModel)
_R = TypeVar("_R")


@nexusrpc.handler.service_handler(service=DurableResearchV1)
class ResearchService:
    """Serves `DurableResearchV1` on the workflows queue of the research namespace.

    Args:
        settings: the research side's settings (state folder, task queues).
        deps: the worker's dependencies: the graph and tool registries a spec is checked against,
            the memory settings (file caps, manifests) and the artifact store.
        tuning: timeouts and retry bounds of the jobs it starts (the CLI's defaults when None).
    """

    def __init__(self, settings: OrchestrationSettings, deps: WorkerDeps, *, tuning: Tuning | None = None) -> None:
        self._settings = settings
        self._deps = deps
        self._queues = settings.task_queues()
        self._tuning = tuning or Tuning()

    @nexus.workflow_run_operation
    async def research(
        self, ctx: nexus.WorkflowRunOperationContext, request: ResearchRequest
    ) -> nexus.WorkflowHandle[JobResult]:
        """Check the request as `durable-research run` does, then start the job; completes with its result."""
        with _refused():
            spec = _model(JobSpec, request.spec, "invalid job spec: ")
            job_id = check_job_id(request.job_id) if request.job_id is not None else None
            # Corpus paths are read here: in a thread, so other Nexus tasks of this worker go on.
            await asyncio.to_thread(
                check_spec, spec, registry=self._deps.registry, tools=self._deps.tools,
                max_file_bytes=self._deps.memory_settings.max_file_bytes,
            )  # fmt: skip
        # The client's readable stem (opaque when payloads are encrypted: ids are stored in plaintext).
        opaque = nexus.client().data_converter.payload_codec is not None
        job_id = job_id or _derived_id(new_job_id(spec.question, opaque=opaque).rsplit("-", 1)[0], ctx.request_id, 12)
        if not await _exists(job_id):  # else: this request's earlier start (the server answers with it) or a conflict
            with _refused():
                try:
                    check_job_id_unused(job_id, self._settings)
                except ConfigError as exc:  # an earlier job's artifacts: the id is taken, the request is fine
                    raise JobExistsError(str(exc)) from None
        return await _start(
            ctx, names.WORKFLOW, JobInput(spec=spec, queues=self._queues, tuning=self._tuning), job_id=job_id,
            task_queue=self._queues.workflows, result_type=JobResult,
            # As `ResearchClient.start` words it (no user text: the question may be confidential).
            summary=f"research job · model {spec.model.provider} · {len(spec.corpus)} corpus source(s) · via Nexus",
        )  # fmt: skip

    @nexus.workflow_run_operation
    async def batch(
        self, ctx: nexus.WorkflowRunOperationContext, request: BatchRequest
    ) -> nexus.WorkflowHandle[BatchResult]:
        """Check and resolve the sources as `durable-research batch` does, then start it; completes with its result."""
        with _refused():
            spec = _model(BatchSpec, request.spec, "invalid batch: ")
            job_id = check_job_id(request.job_id) if request.job_id is not None else None
        job_id = job_id or _derived_id("batch", ctx.request_id, 10)
        batches = _NexusBatches(ctx, self._queues, self._tuning)
        if await _exists(job_id):
            return await batches.restart(spec, job_id, self._deps)
        with _refused():
            await start_batch(
                batches, spec, request.sources, store=self._deps.artifacts, memory=self._deps.memory_settings,
                registry=self._deps.registry, job_id=job_id,
            )  # fmt: skip
        assert batches.started is not None  # start_batch returns only after it started the batch
        return batches.started


class _NexusBatches(BatchClient):
    """`start_batch`'s client, so the CLI's sequence (check, refuse an id in use, write the manifest,
    start) runs as it is; only the start differs: the batch backs the Nexus operation."""

    def __init__(self, ctx: nexus.WorkflowRunOperationContext, queues: TaskQueues, tuning: Tuning) -> None:
        super().__init__(nexus.client(), queues=queues, tuning=tuning)
        self._ctx = ctx
        self.started: nexus.WorkflowHandle[BatchResult] | None = None

    async def start(self, spec: BatchSpec, *, job_id: str, manifest_key: str, total: int) -> BatchHandle:
        self.started = await _start(
            self._ctx, names.BATCH_WORKFLOW,
            BatchInput(spec=spec, manifest_key=manifest_key, total=total, queues=self.queues, tuning=self.tuning),
            job_id=job_id, task_queue=self.queues.workflows, result_type=BatchResult,
            summary=f"batch · graph {spec.graph} · {total} documents · via Nexus",
        )  # fmt: skip
        return self.attach(job_id)

    async def restart(self, spec: BatchSpec, job_id: str, deps: WorkerDeps) -> nexus.WorkflowHandle[BatchResult]:
        """A batch with this id exists: a retry of this request, whose manifest is written (the server
        answers with the run this request started), or another batch's id (the server refuses)."""
        meta = f"{manifest_key(job_id)}/meta.json"
        if not deps.artifacts.exists(meta):
            raise _refusal(nexusrpc.HandlerErrorType.CONFLICT, _in_use(job_id))
        total = json.loads(deps.artifacts.get_text(meta))["total"]
        await self.start(spec, job_id=job_id, manifest_key=manifest_key(job_id), total=total)
        assert self.started is not None
        return self.started


def _model(model: type[_M], value: BaseModel | dict[str, Any], prefix: str) -> _M:
    """The spec as the CLI validates it: a dict that did not decode is validated again for the CLI's line."""
    if isinstance(value, model):
        return value
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        raise ConfigError(prefix + pydantic_problems(exc)) from None


def _derived_id(stem: str, request_id: str, digits: int) -> str:
    """`stem-<hex>`, the hex from the Nexus request id: a retried start names the same workflow."""
    seed = request_id or uuid.uuid4().hex  # a caller that sent no request id cannot be deduplicated
    return f"{stem}-{hashlib.sha256(seed.encode()).hexdigest()[:digits]}"


async def _exists(job_id: str) -> bool:
    try:
        await nexus.client().get_workflow_handle(job_id).describe()
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True


async def _start(
    ctx: nexus.WorkflowRunOperationContext,
    workflow: str,
    arg: BaseModel,
    *,
    job_id: str,
    task_queue: str,
    result_type: type[_R],
    summary: str,
) -> nexus.WorkflowHandle[_R]:
    """Start the workflow backing the operation. A job id names one job for ever; with the request id
    (the SDK passes it on), a retried start gets the run it started, and another job's id is refused."""
    try:
        return await ctx.start_workflow(
            workflow, arg, id=job_id, task_queue=task_queue, result_type=result_type, static_summary=summary,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE, id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
        )  # fmt: skip
    except WorkflowAlreadyStartedError:
        raise _refusal(nexusrpc.HandlerErrorType.CONFLICT, _in_use(job_id)) from None


def _in_use(job_id: str) -> str:
    return id_in_use(job_id, "another job started under it")


def _refusal(kind: nexusrpc.HandlerErrorType, message: str) -> nexusrpc.HandlerError:
    return nexusrpc.HandlerError(message, type=kind, retryable_override=False)


@contextlib.contextmanager
def _refused() -> Iterator[None]:
    """What the CLI refuses with one line (`error: ...`, exit 2) fails the operation with that line."""
    try:
        yield
    except JobExistsError as exc:
        raise _refusal(nexusrpc.HandlerErrorType.CONFLICT, str(exc)) from None
    except (ConfigError, ValueError) as exc:  # ValueError: check_job_id's message
        raise _refusal(nexusrpc.HandlerErrorType.BAD_REQUEST, str(exc)) from None
