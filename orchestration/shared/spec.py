"""The job spec: what a user asks for. Validated at the caller, before anything starts.

Every field has a default so a running workflow keeps decoding after a field is added.
Model choice names a provider and a model, never a secret: keys stay with the workers.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

GRAPH_KEY = re.compile(r"^[A-Za-z_][\w.-]*@[\w.-]+$")


def check_graph_key(key: str) -> str:
    """`name@version`, pinned: a bare name would float to whatever is newest on a worker."""
    if not GRAPH_KEY.match(key):
        raise ValueError(
            f"graph '{key}' must be pinned as name@version (e.g. researcher@1); "
            "`durable-research graphs list` shows what is registered"
        )
    return key


def subtask_activity_id(subtask_id: str, round_: int) -> str:
    return f"subtask/{subtask_id}/r{round_}"


class ModelChoice(BaseModel):
    provider: Literal["extractive", "openai", "fake"] = "extractive"
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
    question: str = Field(min_length=3, max_length=4000)
    corpus: list[str] = Field(default_factory=list)
    # Reports are indexed into "<collection>-reports", which must fit Chroma's 63 characters.
    collection: str = Field(default="research", min_length=3, max_length=55)
    graphs: dict[str, str] = Field(
        default_factory=lambda: {"research": "researcher@1"},
        description="Graph per subtask kind, pinned at start.",
    )
    planner: str = "planner@1"
    validator: str = "validator@1"
    writer: str = "writer@1"
    model: ModelChoice = Field(default_factory=ModelChoice)
    recovery: Literal["restart", "resume"] = "restart"
    parallelism: int = Field(default=4, ge=1, le=64)
    max_subtasks: int = Field(default=4, ge=1, le=32)
    validation_rounds: int = Field(default=1, ge=0, le=3)
    approval: ApprovalPolicy = Field(default_factory=ApprovalPolicy)
    publish: PublishTargets = Field(default_factory=PublishTargets)
    recurrence: Recurrence | None = None

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

    @field_validator("collection")
    @classmethod
    def _collection_name(cls, name: str) -> str:
        if not re.match(r"^[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9]$", name) or ".." in name:
            raise ValueError(
                f"collection '{name}' must be 3-55 characters of letters, digits, '.', '_' "
                "or '-', starting and ending with a letter or digit"
            )
        return name

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
        return self
