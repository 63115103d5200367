"""The job spec: what a user asks for. Validated at the caller, before anything starts.

Every field has a default so a running workflow keeps decoding after a field is added.
Model choice names a provider and a model, never a secret: keys stay with the workers.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Literal, get_args

from pydantic import BaseModel, Field, field_validator, model_validator

from orchestration.shared.usage import Budget

GRAPH_KEY = re.compile(r"^[A-Za-z_][\w.-]*@[\w.-]+$")

# The wire's names for what reasoning implements; reasoning.models.Provider must list the
# same (reasoning may not import this package; tests/orchestration/test_one_home_per_fact.py checks it).
Provider = Literal["extractive", "openai", "fake"]
PROVIDERS: tuple[str, ...] = get_args(Provider)
Recovery = Literal["restart", "resume"]
REPORTS_SUFFIX = "-reports"
QUESTION_MAX_CHARS = 4000


def check_graph_key(key: str) -> str:
    """`name@version`, pinned: a bare name would float to whatever is newest on a worker."""
    if not GRAPH_KEY.match(key):
        raise ValueError(
            f"graph '{key}' must be pinned as name@version (e.g. researcher@1); "
            "`durable-research graphs list` shows what is registered"
        )
    return key


JOB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def check_job_id(job_id: str) -> str:
    """A job id names folders and keys (artifacts, notifications): 1-100 characters of
    letters, digits, '.', '_' and '-', starting with a letter or digit."""
    if not JOB_ID.match(job_id) or ".." in job_id:
        shown = job_id if len(job_id) <= 60 else job_id[:57] + "..."
        raise ValueError(
            f"job id {shown!r} must be 1-100 characters of letters, digits, '.', '_' or '-', "
            "starting with a letter or digit (no '/', '..', spaces or other characters)"
        )
    return job_id


def subtask_activity_id(subtask_id: str, round_: int) -> str:
    """The activity id of one round of one subtask (stable across retries: resume-mode
    checkpoints are keyed by it)."""
    return f"subtask/{subtask_id}/r{round_}"


def parse_subtask_activity_id(activity_id: str) -> tuple[str, int] | None:
    """`subtask/<id>/r<round>` back to (id, round); None for any other activity id."""
    parts = activity_id.split("/")
    if len(parts) != 3 or parts[0] != "subtask" or not parts[2][1:].isdigit():
        return None
    return parts[1], int(parts[2][1:])


def reports_collection(corpus_collection: str) -> str:
    """Published reports get their own collection: a recurring job's next run must not
    cite its own earlier report as evidence."""
    return f"{corpus_collection}{REPORTS_SUFFIX}"


class ModelChoice(BaseModel):
    provider: Provider = "extractive"
    name: str | None = Field(default=None, description="Model name for the provider.")


class ApprovalPolicy(BaseModel):
    required: bool = True
    deadline: timedelta = Field(default=timedelta(days=3), gt=timedelta(0))
    on_timeout: Literal["reject", "approve", "escalate"] = "reject"
    # After an escalation the job waits one more deadline; then it is rejected.
    escalate_to: str = "escalations"


class PublishTargets(BaseModel):
    artifact: bool = True
    index_memory: bool = True
    outbox: bool = True
    webhook_url: str | None = None

    @field_validator("webhook_url")
    @classmethod
    def _http_only(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(("http://", "https://")):
            raise ValueError(f"webhook_url '{url}' must start with http:// or https://")
        return url


class Recurrence(BaseModel):
    every: timedelta = Field(gt=timedelta(0))
    max_runs: int | None = Field(default=None, ge=1)


class JobSpec(BaseModel):
    question: str = Field(min_length=3, max_length=QUESTION_MAX_CHARS)
    corpus: list[str] = Field(default_factory=list)
    # Chroma's naming rule (retrieval.validate_collection_name) is applied by the preflight
    # to this name and to its reports_collection(); here only what the wire needs.
    collection: str = Field(default="research", min_length=3)
    graphs: dict[str, str] = Field(
        default_factory=lambda: {"research": "researcher@1"},
        description="Graph per subtask kind, pinned at start.",
    )
    planner: str = "planner@1"
    validator: str = "validator@1"
    writer: str = "writer@1"
    model: ModelChoice = Field(default_factory=ModelChoice)
    recovery: Recovery = "restart"
    parallelism: int = Field(default=4, ge=1, le=64)
    max_subtasks: int = Field(default=4, ge=1, le=32)
    validation_rounds: int = Field(default=1, ge=0, le=3)
    approval: ApprovalPolicy = Field(default_factory=ApprovalPolicy)
    publish: PublishTargets = Field(default_factory=PublishTargets)
    recurrence: Recurrence | None = None
    budget: Budget = Field(default_factory=Budget)
    # A corpus of at least this many documents is ingested by the batch engine (a child
    # workflow: shards, micro-batches, progress) instead of one long activity; None: never.
    ingest_engine_min_documents: int | None = Field(default=None, ge=1)
    # Added with tool-using graphs (defaults keep recorded specs decoding).
    tools: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Tools per subtask kind (names from `durable-research tools list`); a kind not named gets "
        "the read-only built-ins. A side-effecting or lifted tool runs only where it is named.",
    )
    question_deadline: timedelta = Field(
        default=timedelta(days=1), gt=timedelta(0), description="How long a graph's question waits for a person."
    )

    @field_validator("question")
    @classmethod
    def _not_blank(cls, q: str) -> str:
        if not q.strip():
            raise ValueError("question is blank")
        return q.strip()

    @field_validator("corpus")
    @classmethod
    def _sources(cls, sources: list[str]) -> list[str]:
        for s in sources:
            if not s.strip():
                raise ValueError("corpus has an empty source")
        return sources

    @model_validator(mode="after")
    def _graphs_pinned(self) -> JobSpec:
        if not self.graphs:
            raise ValueError("graphs needs at least one subtask kind, e.g. research=researcher@1")
        for kind, key in self.graphs.items():
            if not re.match(r"^[a-z][a-z0-9_-]*$", kind):
                raise ValueError(f"subtask kind '{kind}' must be lower-case letters/digits/-/_")
            check_graph_key(key)
        for key in (self.planner, self.validator, self.writer):
            check_graph_key(key)
        for kind in self.tools:
            if kind not in self.graphs:
                known = ", ".join(sorted(self.graphs))
                raise ValueError(f"tools are given for kind '{kind}', which has no graph (kinds: {known})")
        return self
