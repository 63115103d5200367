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


# --- batch engine: one document in, one analysis out; analyses reduced into one -------


class DocumentInput(BaseModel):
    """One document of a batch, as a per-document graph receives it."""

    source: str
    title: str = ""
    text: str
    question: str = ""  # what the batch asks of every document ("" : a general summary)


class QuotedClaim(BaseModel):
    """A claim with the verbatim sentence of its source it rests on."""

    text: str
    quote: str
    source: str


class DocumentAnalysis(BaseModel):
    """What a per-document graph returns, and what a reduce step returns for a group of them.

    A reduction has the same shape as a document's analysis, so reductions can be
    reduced again (a tree) with the same graph.
    """

    source: str
    summary: str
    claims: list[QuotedClaim] = Field(default_factory=list)
    documents: int = 1  # how many documents this analysis covers
    provider: str = ""


class SynthesisInput(BaseModel):
    """A reduce step's input: a bounded group of analyses (documents or earlier reductions)."""

    question: str = ""
    parts: list[DocumentAnalysis]
    notes: str = Field(default="", description="A reviewer's notes when the final step is re-run (batch revise).")
