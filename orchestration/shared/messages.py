"""Payloads that cross the Temporal boundary: activity requests/results, updates, queries.

Results carry references (artifact keys, chunk ids), never bulky bodies: findings and
reports live in the artifact store and history holds their keys (payloads over 2 MB are
refused by the server; we keep every payload to a few KB).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, TypeVar, get_args

from pydantic import BaseModel, Field, field_validator
from temporalio.contrib.workflow_streams import WorkflowStreamState

from orchestration.shared.events import EVENT_RETENTION
from orchestration.shared.spec import QUESTION_MAX_CHARS, JobSpec, ModelChoice, Recovery, check_graph_key
from orchestration.shared.steps import PendingStepRef, StepAnswerRef
from orchestration.shared.usage import Budget, Usage


class TaskQueues(BaseModel):
    """Where each kind of work runs; separate queues let hosts specialise."""

    workflows: str = "research"
    reasoning: str = "reasoning"
    io: str = "io"


class Tuning(BaseModel):
    """Operator knobs (not part of the user's spec): timeouts and retry bounds."""

    # Also bounds how fast a crash or a cancel is noticed: the SDK sends heartbeats
    # (and so learns of a cancel) at most every 80% of this timeout.
    heartbeat_timeout_s: float = Field(default=10.0, gt=0)
    subtask_timeout_s: float = Field(default=1800.0, gt=0)
    reasoning_attempts: int = Field(default=3, ge=1)
    io_attempts: int = Field(default=5, ge=1)
    retry_initial_s: float = Field(default=1.0, gt=0)
    # Short IO steps (publish, index, notify) do not heartbeat: a worker that dies in one
    # is noticed only when their start-to-close timeout passes (None: the default of
    # orchestration.workflows.options, IO_TIMEOUT).
    io_timeout_s: float | None = Field(default=None, gt=0)
    # Items of the job's event stream kept for late watchers (older ones are truncated);
    # bounds the workflow's memory and what continue-as-new carries.
    event_retention: int = Field(default=EVENT_RETENTION, ge=10)


class SubtaskRef(BaseModel):
    id: str
    kind: str
    question: str


# --- activity payloads -------------------------------------------------------


class IngestRequest(BaseModel):
    sources: list[str]
    collection: str


class IngestSummary(BaseModel):
    files: int = 0
    chunks: int = 0
    added: int = 0
    unchanged: int = 0
    replaced: int = 0
    skipped: int = 0
    warnings: list[str] = Field(default_factory=list)


_Call = TypeVar("_Call", bound="GraphCall")


class GraphCall(BaseModel):
    """What every reasoning activity needs to build and run a graph."""

    job_id: str
    graph: str
    model: ModelChoice
    recovery: Recovery = "restart"
    collection: str = "research"

    def request(self, request_type: type[_Call], **fields: Any) -> _Call:
        """This call as a request of `request_type` (a subclass adding its own fields).

        The requests subclass GraphCall, so the payload stays flat (as recorded histories have it).
        """
        return request_type(**dict(self), **fields)


class PlanRequest(GraphCall):
    question: str
    max_subtasks: int
    kinds: list[str]


class PlanResult(BaseModel):
    subtasks: list[SubtaskRef]
    # Results gained `usage` after the first release: the default keeps old histories decoding.
    usage: Usage = Field(default_factory=Usage)


class SubtaskRequest(GraphCall):
    subtask: SubtaskRef
    round: int = 1
    notes: str = ""
    # Added with tool-using graphs; defaults keep recorded histories decoding.
    tools: list[str] | None = Field(default=None, description="The tools its graph may call (None: the built-ins).")
    answers: list[StepAnswerRef] = Field(default_factory=list, description="Answers to the steps it stopped at.")
    thread: str = Field(default="", description="The graph's thread across its steps (the first activity's id).")
    segment: int = Field(default=0, ge=0, description="How many steps were answered before this run.")


class SubtaskResult(BaseModel):
    subtask_id: str
    finding_key: str
    summary: str = Field(description="First few hundred characters of the answer.")
    citations: int = 0
    nodes_run: list[str] = Field(default_factory=list)
    resumed: bool = False
    model_calls: int = 0
    usage: Usage = Field(default_factory=Usage)
    tool_calls: int = 0
    pending: PendingStepRef | None = Field(default=None, description="The graph stopped here for the workflow.")


class ValidateRequest(GraphCall):
    finding_keys: list[str]


class ValidationResult(BaseModel):
    supported: int = 0
    unsupported: int = 0
    unsupported_subtasks: list[str] = Field(default_factory=list)
    notes: dict[str, str] = Field(default_factory=dict, description="subtask id -> feedback")
    usage: Usage = Field(default_factory=Usage)


class WriteRequest(GraphCall):
    question: str
    finding_keys: list[str]
    notes: str = ""
    revision: int = 0
    run_number: int = 1
    previous_report_key: str | None = None
    # What the job spent before this write; set, the report gets a usage footer (this run included).
    usage_so_far: Usage | None = None


class ReportRef(BaseModel):
    key: str
    title: str
    preview: str = Field(description="Start of the Markdown, for queries and the CLI.")
    chars: int = 0
    references: int = 0
    usage: Usage = Field(default_factory=Usage)


class PublishRequest(BaseModel):
    job_id: str
    report_key: str
    collection: str = "research"
    webhook_url: str | None = None
    kind: Literal["published", "escalation", "retraction"] = "published"
    message: str = ""


class PublishedStep(BaseModel):
    step: Literal["artifact", "index", "notify"]
    ref: str = Field(description="Path, chunk ids or notification id, for the compensation.")
    ids: list[str] = Field(default_factory=list)


# --- updates and signals -----------------------------------------------------


class ApprovalSignal(BaseModel):
    """The signal twin of the approval updates, for senders that cannot wait for a reply."""

    action: Literal["approve", "reject", "revise"]
    by: str = "signal"
    notes: str = ""


class Decision(BaseModel):
    """Approve / reject / revise. The update validator refuses it outside the approval wait."""

    by: str = Field(default="cli", min_length=1, max_length=200)
    notes: str = Field(default="", max_length=20_000)


class SwapGraph(BaseModel):
    kind: str = Field(min_length=1)
    graph: str

    @field_validator("graph")
    @classmethod
    def _pinned(cls, key: str) -> str:
        return check_graph_key(key)


class AddSubtask(BaseModel):
    kind: str = Field(min_length=1)
    question: str = Field(min_length=3, max_length=QUESTION_MAX_CHARS)


# --- state, progress and result ---------------------------------------------

FinalPhase = Literal["completed", "rejected", "failed", "cancelled", "budget_exceeded"]
FINAL_PHASES: tuple[FinalPhase, ...] = get_args(FinalPhase)
"""Phases a job never leaves: the workflow has ended (or will, once handlers finish).

`budget_exceeded`: the budget was spent and no `raise_budget` came within its wait; the
result holds what was done. While it waits the phase is `awaiting_budget` (not final).
"""
Phase = Literal[
    "ingesting", "planning", "researching", "validating", "writing",
    "awaiting_approval", "awaiting_budget", "publishing", "waiting_next_run",
    FinalPhase,
]  # fmt: skip
SubtaskStatus = Literal["pending", "running", "done", "failed", "cancelled"]


class SubtaskState(BaseModel):
    ref: SubtaskRef
    graph: str
    status: SubtaskStatus = "pending"
    round: int = 1
    attempt: int = Field(default=0, description="Filled by the client from the pending activity.")
    node: str | None = Field(default=None, description="Current graph node, from its heartbeat.")
    result: SubtaskResult | None = None
    error: str | None = None
    notes: str = ""
    usage: Usage = Field(
        default_factory=Usage,
        description="Summed over its rounds, with its attempts that returned nothing (usage ledger).",
    )
    question: PendingStepRef | None = Field(default=None, description="Its graph's open question to a person.")
    answer: str | None = Field(default=None, description="A person's answer, until the graph takes it.")
    steps: int = Field(default=0, description="Steps its graph handed to the workflow (tools run, questions).")


class JobState(BaseModel):
    """Everything the workflow knows; carried whole across continue-as-new."""

    spec: JobSpec
    phase: Phase = "ingesting"
    run_number: int = 1
    ingest: IngestSummary | None = None
    planned: bool = False
    subtasks: list[SubtaskState] = Field(default_factory=list)
    validation: ValidationResult | None = None
    validation_rounds_done: int = 0
    report: ReportRef | None = None
    revisions: list[str] = Field(default_factory=list)
    approval: Literal["pending", "approved", "rejected", "auto", "timed_out", "escalated"] = "pending"
    decided_by: str | None = None
    approval_deadline: datetime | None = None
    published: list[PublishedStep] = Field(default_factory=list)
    compensated: list[str] = Field(default_factory=list)
    previous_report_key: str | None = None
    error: str | None = None
    continued: int = Field(default=0, description="How many times this job continued-as-new.")
    usage: Usage = Field(default_factory=Usage, description="This run's spending, summed from activity results.")
    usage_by_phase: dict[str, Usage] = Field(default_factory=dict)
    budget_note: str | None = Field(default=None, description="Which limit was reached, while awaiting_budget.")


class JobInput(BaseModel):
    spec: JobSpec
    queues: TaskQueues = Field(default_factory=TaskQueues)
    tuning: Tuning = Field(default_factory=Tuning)
    state: JobState | None = Field(default=None, description="Set when continuing as new.")
    # The event stream's retained items and publisher dedup state, carried the same way
    # (typed, not Any: the converter must rebuild the dataclass). None on a fresh start.
    events: WorkflowStreamState | None = None


class JobProgress(BaseModel):
    job_id: str
    phase: Phase
    run_number: int
    pending: int
    running: int
    done: int
    failed: int
    subtasks: list[SubtaskState]
    report: ReportRef | None
    approval: str
    error: str | None = None
    continued: int = 0
    usage: Usage = Field(default_factory=Usage)
    usage_by_phase: dict[str, Usage] = Field(default_factory=dict)
    budget: Budget = Field(default_factory=Budget)
    budget_note: str | None = None


class JobResult(BaseModel):
    job_id: str
    status: FinalPhase
    report: ReportRef | None = None
    published: list[PublishedStep] = Field(default_factory=list)
    compensated: list[str] = Field(default_factory=list)
    subtasks: list[SubtaskState] = Field(default_factory=list)
    runs: int = 1
    error: str | None = None
    usage: Usage = Field(default_factory=Usage)
    usage_by_phase: dict[str, Usage] = Field(default_factory=dict)
    # Added after budgets: the limits the run ended with, so a closed job can say how far past them it went.
    budget: Budget | None = None
