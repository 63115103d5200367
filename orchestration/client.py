"""ResearchClient: start, attach to, watch, steer and collect research jobs (CLI and notebooks)."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from pydantic import BaseModel
from temporalio.client import (
    Client,
    Plugin,
    WorkflowExecutionDescription,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHandle,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ActivityError, CancelledError, FailureError, WorkflowAlreadyStartedError
from temporalio.runtime import Runtime
from temporalio.service import RPCError, RPCStatusCode

from orchestration.artifacts import LocalArtifactStore, artifact_store, job_has_artifacts
from orchestration.errors import ConfigError, DurableResearchError, ServerError, ServerNotRunningError
from orchestration.payloads.converter import data_converter
from orchestration.server import EmbeddedServer
from orchestration.settings import OrchestrationSettings
from orchestration.shared import names
from orchestration.shared.messages import (
    FINAL_PHASES,
    AddSubtask,
    Decision,
    JobInput,
    JobProgress,
    JobResult,
    JobState,
    SubtaskRef,
    SwapGraph,
    TaskQueues,
    Tuning,
)
from orchestration.shared.spec import JobSpec, check_job_id, subtask_activity_id
from orchestration.shared.steps import AnswerRequest
from orchestration.shared.usage import BudgetChange


class JobExistsError(DurableResearchError):
    """A job with this id is running (or its id may not be reused)."""


class JobClosedError(DurableResearchError):
    """The job's workflow has closed; updates can no longer reach it."""


class JobEndedError(DurableResearchError):
    """The job failed or was cancelled; `state` holds its partial results."""

    def __init__(self, message: str, state: JobState | None) -> None:
        super().__init__(message)
        self.state = state


class Preflight(Protocol):
    """Checks a spec before it starts (the edge's `check_spec`); raises ConfigError.

    Injected rather than imported: the checks read the local machine and the graph
    registry (domain packages), which the Temporal core must not depend on.
    """

    def __call__(self, spec: JobSpec, *, registry: Any | None = None, local_sources: bool = True) -> None: ...


class JobSummary(BaseModel):
    job_id: str
    status: str
    started: datetime | None
    closed: datetime | None


async def connect(
    settings: OrchestrationSettings,
    *,
    start_server: bool = True,
    runtime: Runtime | None = None,
    plugins: Sequence[Plugin] = (),
) -> Client:
    """Connect to TEMPORAL_ADDRESS, or to the embedded server.

    Args:
        start_server: start the embedded server when none runs; commands that only read
            (status, result, jobs, approve...) pass False, so looking never leaves a server behind.
        runtime: the process's Temporal runtime (metrics export); None: the SDK's default.
        plugins: client plugins (tracing); workers built on the client use them too.

    Raises:
        ServerNotRunningError: no embedded server and `start_server` is False.
        ServerError: the address does not answer.
    """
    converter = data_converter(settings)  # a bad key file fails here, before a server starts
    address = settings.temporal_address
    if address is None:
        server = EmbeddedServer(settings)
        record = server.ensure_started() if start_server else server.running()
        if record is None:
            raise ServerNotRunningError(
                f"no Temporal server is running for {settings.home} (so there is no job to look at); "
                "start one with `durable-research server start`, or set TEMPORAL_ADDRESS"
            )
        address = record.address
    try:
        return await Client.connect(
            address, namespace=settings.namespace, data_converter=converter, runtime=runtime, plugins=list(plugins)
        )
    except RuntimeError as exc:  # the SDK's "Failed client connect: ..." for any transport error
        where = "TEMPORAL_ADDRESS" if settings.temporal_address else "the embedded server"
        raise ServerError(
            f"cannot reach Temporal at {address} ({where}): {str(exc).splitlines()[0]}. "
            "Check the address, or unset TEMPORAL_ADDRESS to use the embedded server."
        ) from None


def failure_reason(err: BaseException) -> str:
    """The root cause of a failed job, from its failure chain: "Activity task failed" says
    nothing; the innermost message (an ingest that found no text, a budget) says why.
    The step that failed is named when an activity failed."""
    step = ""
    message = str(err)
    cause: BaseException | None = err
    while cause is not None:
        if isinstance(cause, ActivityError) and not step:
            step = f"{cause.activity_type} failed: "
        text = cause.message if isinstance(cause, FailureError) else str(cause)
        if text and text not in ("Activity task failed", "Workflow execution failed"):
            message = text
        cause = cause.__cause__ if not isinstance(cause, FailureError) else cause.cause
    return step + message


def id_in_use(job_id: str, why: str) -> str:
    """The one line for a job id that names another job already (the CLI, MCP and Nexus say it alike)."""
    return (
        f"job id '{job_id}' is already in use ({why}); a job id names one job for ever. "
        f"`durable-research status {job_id}` or `durable-research result {job_id}` shows it; "
        "pick another --job-id."
    )


def new_job_id(question: str, *, opaque: bool = False) -> str:
    """A readable id from the question's first words, or `job-<hex>` when payloads are encrypted.

    Workflow ids are stored in plaintext, so with encryption on they must not quote the question.
    """
    slug = "" if opaque else re.sub(r"[^a-z0-9]+", "-", question.lower()).strip("-")[:32].strip("-")
    slug = slug or "job"
    return f"{slug}-{uuid.uuid4().hex[: 12 if opaque else 6]}"


class ResearchClient:
    """Everything a user does with jobs; one instance per Temporal client."""

    def __init__(
        self,
        client: Client,
        *,
        queues: TaskQueues | None = None,
        tuning: Tuning | None = None,
        artifacts: LocalArtifactStore | None = None,
        ui_url: str | None = None,
        preflight: Preflight | None = None,
    ) -> None:
        self.client = client
        self.preflight = preflight
        self.queues = queues or TaskQueues()
        self.tuning = tuning or Tuning()
        self.artifacts = artifacts
        self.ui_url = ui_url

    @classmethod
    async def connect(
        cls,
        settings: OrchestrationSettings,
        *,
        start_server: bool = True,
        runtime: Runtime | None = None,
        plugins: Sequence[Plugin] = (),
        **kwargs: Any,
    ) -> ResearchClient:
        client = await connect(settings, start_server=start_server, runtime=runtime, plugins=plugins)
        ui = None
        if settings.embedded:
            record = EmbeddedServer(settings).running()
            ui = record.ui_url if record else None
        kwargs.setdefault("artifacts", artifact_store(settings.home.expanduser()))
        kwargs.setdefault("queues", settings.task_queues())
        return cls(client, ui_url=ui, **kwargs)

    async def start(
        self,
        spec: JobSpec | dict[str, Any],
        *,
        job_id: str | None = None,
        registry: Any | None = None,
        local_sources: bool = True,
    ) -> JobHandle:
        """Validate the spec (and, with a preflight, its graphs and sources), then start the job.

        Args:
            registry: the graph registry pinned graphs must exist in (the in-process worker's);
                None skips that check, for a detached start whose workers may know more graphs.
            local_sources: let the preflight check that corpus paths and packages exist here.
        """
        spec = spec if isinstance(spec, JobSpec) else JobSpec.model_validate(spec)
        if job_id is not None:
            try:
                check_job_id(job_id)
            except ValueError as exc:
                raise ConfigError(str(exc)) from None
        if self.preflight is not None:
            self.preflight(spec, registry=registry, local_sources=local_sources)
        job_id = job_id or new_job_id(spec.question, opaque=self.client.data_converter.payload_codec is not None)
        if self.artifacts is not None and job_has_artifacts(self.artifacts, job_id):
            raise JobExistsError(id_in_use(job_id, "an earlier job left its artifacts under that id"))
        try:
            await self.client.start_workflow(
                names.WORKFLOW,
                JobInput(spec=spec, queues=self.queues, tuning=self.tuning),
                id=job_id,
                task_queue=self.queues.workflows,
                # A job id names one job for ever: its artifacts and notification keys derive from it.
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                result_type=JobResult,
                # The UI's line for the job; no user text (the question may be confidential).
                static_summary=f"research job · model {spec.model.provider} · {len(spec.corpus)} corpus source(s)",
            )
        except WorkflowAlreadyStartedError:
            closed = await self.attach(job_id).closed()
            raise JobExistsError(id_in_use(job_id, "that job has ended" if closed else "that job is running")) from None
        return self.attach(job_id)

    def attach(self, job_id: str) -> JobHandle:
        return JobHandle(self, self.client.get_workflow_handle(job_id, result_type=JobResult))

    async def jobs(self, limit: int = 50) -> list[JobSummary]:
        out: list[JobSummary] = []
        async for wf in self.client.list_workflows(f'WorkflowType="{names.WORKFLOW}"', limit=limit):
            status = wf.status.name.lower() if wf.status else "unknown"
            out.append(JobSummary(job_id=wf.id, status=status, started=wf.start_time, closed=wf.close_time))
        return out


_Progress = TypeVar("_Progress", bound=BaseModel)
_Result = TypeVar("_Result", bound=BaseModel)
_State = TypeVar("_State", bound=BaseModel)


class BaseHandle(Generic[_Progress, _Result, _State]):
    """What a research job's handle and a batch's share: the decisions, the budget, cancel, the result.

    Both workflows answer the same progress and state queries and take the same approve,
    reject, revise and raise_budget updates, so a caller that holds either kind (the CLI's
    `approve JOB`, the MCP tools) calls these without asking which it has. Subclasses set
    `kind` (how messages name it) and the models their workflow answers with.
    """

    kind = "job"
    _progress_type: type[Any] = BaseModel
    _state_type: type[Any] = BaseModel

    def __init__(self, handle: WorkflowHandle[Any, _Result]) -> None:
        self.handle = handle
        self.job_id = handle.id

    async def progress(self) -> _Progress:
        """The workflow's progress with what only the running activities or children know."""
        raise NotImplementedError

    async def query_progress(self) -> _Progress:
        """The workflow's own answer to the progress query (one round trip; needs a worker)."""
        return await self.handle.query(names.PROGRESS_QUERY, result_type=self._progress_type)

    async def state(self) -> _State:
        return await self.handle.query(names.STATE_QUERY, result_type=self._state_type)

    async def closed(self) -> bool:
        desc = await self.handle.describe()
        return desc.status not in (None, WorkflowExecutionStatus.RUNNING)

    async def _update(self, name: str, arg: BaseModel | None, result_type: type[Any]) -> Any:
        """Run an update; a workflow that already closed gets a clear error instead of an RPC one."""
        try:
            if arg is None:
                return await self.handle.execute_update(name, result_type=result_type)
            return await self.handle.execute_update(name, arg, result_type=result_type)
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                raise JobClosedError(
                    f"{self.kind} {self.job_id} has already ended; it no longer takes '{name}'. "
                    f"`durable-research result {self.job_id}` shows how it ended."
                ) from None
            raise

    async def approve(self, *, by: str = "cli", notes: str = "") -> _Progress:
        """Approve the report waiting for approval; it is then published.

        Keyword-only: an earlier `approve(by, notes)` took the decider first, so a positional call
        fails loudly rather than recording a name as notes."""
        return await self._update(names.APPROVE_UPDATE, Decision(by=by, notes=notes), self._progress_type)

    async def reject(self, *, by: str = "cli", notes: str = "") -> _Progress:
        """Reject the report waiting for approval; nothing is published."""
        return await self._update(names.REJECT_UPDATE, Decision(by=by, notes=notes), self._progress_type)

    async def revise(self, notes: str, *, by: str = "cli") -> _Progress:
        """Send the report back with `notes` (a batch: its final reduce step); it waits for approval again."""
        return await self._update(names.REVISE_UPDATE, Decision(by=by, notes=notes), self._progress_type)

    async def raise_budget(self, change: BudgetChange) -> _Progress:
        """New budget limits (each above what is spent); a workflow awaiting_budget goes on."""
        return await self._update(names.RAISE_BUDGET_UPDATE, change, self._progress_type)

    async def cancel(self) -> None:
        await self.handle.cancel()

    async def result(self) -> _Result:
        """The final result; a failed or cancelled one raises JobEndedError (with the job's state when it has one)."""
        try:
            return await self.handle.result()
        except WorkflowFailureError as err:
            what = "cancelled" if isinstance(err.cause, CancelledError) else "failed"
            state = await self._ended_state()
            raise JobEndedError(f"{self.kind} {self.job_id} {what}: {failure_reason(err)}", state) from err

    async def _ended_state(self) -> JobState | None:
        """What JobEndedError carries: None unless the workflow keeps a research job's state."""
        return None


class JobHandle(BaseHandle[JobProgress, JobResult, JobState]):
    """One research job: live subtask nodes, answers, graph swaps, added subtasks, its report and link."""

    _progress_type = JobProgress
    _state_type = JobState

    def __init__(self, owner: ResearchClient, handle: WorkflowHandle[Any, JobResult]) -> None:
        super().__init__(handle)
        self._owner = owner

    @property
    def ui_link(self) -> str | None:
        ui = self._owner.ui_url
        ns = self._owner.client.namespace
        return f"{ui}/namespaces/{ns}/workflows/{self.job_id}" if ui else None

    async def progress(self, *, heartbeats: bool = True) -> JobProgress:
        """The workflow's progress, plus each running subtask's current node and attempt.

        Args:
            heartbeats: read the nodes from the activities' heartbeats (one describe more);
                False when the caller knows them from the event stream.
        """
        if not heartbeats:
            return await self.query_progress()
        return await self._progress(None)

    async def _progress(self, desc: WorkflowExecutionDescription | None) -> JobProgress:
        progress = await self.query_progress()
        if progress.running:
            beats = await self._heartbeats(desc or await self.handle.describe())
            for task in progress.subtasks:
                beat = beats.get(subtask_activity_id(task.ref.id, task.round))
                if task.status == "running" and beat:
                    task.node, task.attempt = beat
        return progress

    async def _heartbeats(self, desc: WorkflowExecutionDescription) -> dict[str, tuple[str | None, int]]:
        converter = self._owner.client.data_converter
        beats: dict[str, tuple[str | None, int]] = {}
        for pending in desc.raw_description.pending_activities:
            node = None
            if pending.heartbeat_details.payloads:
                details = await converter.decode(pending.heartbeat_details.payloads)
                if details and isinstance(details[0], dict):
                    node = details[0].get("node")
            beats[pending.activity_id] = (node, pending.attempt)
        return beats

    async def watch(self, interval_s: float = 0.5) -> AsyncIterator[JobProgress]:
        """Yield progress whenever it changes, until the job ends (one describe per poll)."""
        last = None
        while True:
            desc = await self.handle.describe()
            closed = desc.status not in (None, WorkflowExecutionStatus.RUNNING)
            try:
                progress = await self._progress(desc)
            except Exception:
                if closed:
                    return
                raise
            snapshot = progress.model_dump_json()
            if snapshot != last:
                last = snapshot
                yield progress
            if progress.phase in FINAL_PHASES or (closed and progress.phase != "waiting_next_run"):
                return
            await asyncio.sleep(interval_s)

    async def _ended_state(self) -> JobState | None:
        try:
            return await self.state()
        except Exception:  # no worker to answer the query: report without the state
            return None

    async def answer(self, answer: str, subtask_id: str | None = None, by: str = "cli") -> JobProgress:
        """Answer the question a subtask's graph is waiting on (the only one, or `subtask_id`'s)."""
        return await self._update(
            names.ANSWER_UPDATE, AnswerRequest(answer=answer, subtask_id=subtask_id, by=by), JobProgress
        )

    async def swap_graph(self, kind: str, graph: str) -> int:
        """Pin `graph` for subtasks of `kind` that have not started; returns how many."""
        return await self._update(names.SWAP_GRAPH_UPDATE, SwapGraph(kind=kind, graph=graph), int)

    async def add_subtask(self, kind: str, question: str) -> SubtaskRef:
        return await self._update(names.ADD_SUBTASK_UPDATE, AddSubtask(kind=kind, question=question), SubtaskRef)

    def report_markdown(self, key: str) -> str:
        if self._owner.artifacts is None:
            raise DurableResearchError("this client has no artifact store; pass artifacts=...")
        return self._owner.artifacts.get_text(key)
