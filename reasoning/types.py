"""Pydantic models that cross the Temporal boundary as graph inputs and outputs (JSON-safe)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Evidence(BaseModel):
    """One retrieved chunk, referenced by its id (the body travels only as far as needed)."""

    chunk_id: str
    source: str
    title: str = ""
    text: str
    score: float = 0.0


class Subtask(BaseModel):
    """One planned piece of work; `kind` selects the graph that runs it."""

    id: str
    kind: str
    question: str


class PlannerInput(BaseModel):
    question: str
    max_subtasks: int = 4
    kinds: list[str] = Field(default_factory=lambda: ["research"])


class PlannerOutput(BaseModel):
    subtasks: list[Subtask]


class Citation(BaseModel):
    chunk_id: str
    source: str
    quote: str = ""


class Claim(BaseModel):
    text: str
    citations: list[str] = Field(default_factory=list)  # chunk ids


class ResearchInput(BaseModel):
    subtask: Subtask
    notes: str = ""  # validator feedback for a second round


class Finding(BaseModel):
    subtask_id: str
    question: str
    answer: str
    claims: list[Claim]
    citations: list[Citation]
    evidence: list[Evidence] = Field(default_factory=list)
    provider: str = ""


class ValidatorInput(BaseModel):
    findings: list[Finding]


class Verdict(BaseModel):
    subtask_id: str
    claim: str
    supported: bool
    reason: str


class ValidatorOutput(BaseModel):
    verdicts: list[Verdict]
    unsupported_subtasks: list[str]


class WriterInput(BaseModel):
    question: str
    findings: list[Finding]
    notes: str = ""  # revision notes from the approver


class WriterOutput(BaseModel):
    title: str
    markdown: str
    references: list[Citation]
