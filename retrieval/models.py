"""Pydantic types the semantic memory takes and returns (never Chroma's raw dicts)."""

from __future__ import annotations

from pydantic import BaseModel, Field

MetadataValue = str | int | float | bool
Metadata = dict[str, MetadataValue]


class Document(BaseModel):
    """A chunk to upsert: a content-hash id (or the caller's stable id), text, flat metadata."""

    id: str = Field(min_length=1)
    text: str
    metadata: Metadata = Field(default_factory=dict)


class Hit(BaseModel):
    """One query result, higher `score` first.

    Hybrid search (the default): the fused relevance in (0, 1], 1.0 when both the lexical
    and the dense index rank the chunk first. Dense only (``lexical=none``, or
    ``query_by_vector``): cosine similarity in [-1, 1].
    """

    id: str
    text: str
    score: float
    metadata: Metadata = Field(default_factory=dict)

    @property
    def source(self) -> str:
        """Where the chunk came from (a path, `pkgdocs:NAME...`, a URL), or ``""``."""
        value = self.metadata.get("source", "")
        return str(value)


class SkippedFile(BaseModel):
    """A file ingest did not index, and why (binary, unreadable, too large)."""

    path: str
    reason: str


class IngestProgress(BaseModel):
    """Reported after every embedded batch so a caller can heartbeat or draw a bar."""

    source: str
    files: int = Field(description="Documents finished so far.")
    chunks: int = Field(description="Chunks processed so far (new or unchanged).")
    added: int


class IngestReport(BaseModel):
    """What an ingest did; re-running it on unchanged content reports added == 0."""

    sources: list[str]
    files: int = 0
    chunks: int = 0
    added: int = 0
    replaced: int = Field(default=0, description="Stale chunks of changed documents deleted.")
    unchanged: int = 0
    skipped: list[SkippedFile] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    seconds: float = 0.0
