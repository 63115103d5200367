"""The `SemanticMemory` Protocol and the rules every store shares (names, model records)."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from retrieval.embeddings import Embeddings
from retrieval.errors import EmbeddingMismatchError, InvalidCollectionNameError, MemoryConfigError
from retrieval.models import Document, Hit

MODEL_KEY = "embedding_model"
DIM_KEY = "embedding_dim"
LEXICAL_KEY = "lexical_index"
NO_LEXICAL = "none"
_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9._-]{1,510}[a-zA-Z0-9]$")


@runtime_checkable
class SemanticMemory(Protocol):
    """A collection of embedded chunks: upsert, query by text with filters, get, delete, count.

    ``where`` filters are Chroma-style (``{"job": "j1"}``, ``{"n": {"$gte": 2}}``,
    ``{"$or": [...]}``); several top-level keys mean "all of them"; ``{}`` matches all.
    """

    collection: str

    def upsert(self, docs: Sequence[Document]) -> int:
        """Insert or replace documents by id; return how many ids were new."""
        ...

    def query(self, text: str, k: int = 5, where: dict[str, Any] | None = None) -> list[Hit]:
        """Return up to `k` hits, most similar first."""
        ...

    def get(self, ids: Sequence[str]) -> list[Document]:
        """Return the stored documents among `ids`, in the order asked; missing ids are left out."""
        ...

    def delete(self, ids: Sequence[str] | None = None, where: dict[str, Any] | None = None) -> int:
        """Delete by ids, by filter, or both (intersection); return how many were deleted."""
        ...

    def count(self, where: dict[str, Any] | None = None) -> int:
        """How many documents (matching `where`, when given) the collection holds."""
        ...


def validate_collection_name(name: str) -> str:
    """Apply Chroma's naming rule up front so every store refuses the same names.

    Raises:
        InvalidCollectionNameError: the name Chroma would refuse, with the rule spelled out.
    """
    problem = None
    if not _NAME.match(name) or ".." in name:
        problem = "3-512 characters of [a-zA-Z0-9._-], starting and ending with a letter or digit"
    else:
        try:
            ipaddress.ip_address(name)
            problem = "not an IP address"
        except ValueError:
            pass
    if problem:
        raise InvalidCollectionNameError(
            f"Collection name {name!r} is not allowed by Chroma: use {problem}, e.g. 'research'."
        )
    return name


def model_record(embeddings: Embeddings, lexical: str = NO_LEXICAL) -> dict[str, str | int]:
    """The collection metadata that pins how it is indexed: embedder, dimension, lexical index."""
    return {MODEL_KEY: embeddings.model_id, DIM_KEY: embeddings.dimension, LEXICAL_KEY: lexical}


def check_model_record(
    collection: str, recorded: Mapping[str, Any] | None, embeddings: Embeddings, lexical: str = NO_LEXICAL
) -> None:
    """Refuse to mix two indexings in one collection (vectors of two models, a missing lexical index).

    Raises:
        EmbeddingMismatchError: the collection was indexed with other settings; the message
            names the `reindex` command that moves it to the configured ones.
    """
    recorded = recorded or {}
    model, dim = recorded.get(MODEL_KEY), recorded.get(DIM_KEY)
    if model is None:
        return  # created outside this package; nothing recorded to compare against
    # Collections built before the lexical index existed record no lexical key.
    was_lexical = recorded.get(LEXICAL_KEY, NO_LEXICAL)
    if model == embeddings.model_id and dim == embeddings.dimension and was_lexical == lexical:
        return
    raise EmbeddingMismatchError(
        f"Collection {collection!r} was indexed with {model} ({dim} dims), lexical index {was_lexical}; "
        f"the configured settings are {embeddings.model_id} ({embeddings.dimension} dims), lexical index "
        f"{lexical}. Run `durable-research reindex --collection {collection}` to move it to the configured "
        "settings (no document is lost), or configure the recorded ones "
        "(DURABLE_RESEARCH_MEMORY_EMBEDDINGS, DURABLE_RESEARCH_MEMORY_LEXICAL)."
    )


def check_query(text: str, k: int) -> None:
    """Reject queries no store can answer meaningfully."""
    if not text.strip():
        raise MemoryConfigError("The query text is empty; pass the question to search for.")
    if k < 1:
        raise MemoryConfigError(f"k must be at least 1, got {k}.")


def check_vectors(docs: Sequence[Document], vectors: Sequence[Sequence[float]], dim: int) -> None:
    """Precomputed vectors must line up with the documents and the model's dimension."""
    if len(vectors) != len(docs):
        raise MemoryConfigError(f"{len(docs)} documents but {len(vectors)} embeddings.")
    if any(len(v) != dim for v in vectors):
        raise EmbeddingMismatchError(f"Every embedding must have {dim} dimensions.")


def embed_or_check(
    docs: Sequence[Document], vectors: Sequence[Sequence[float]] | None, embeddings: Embeddings
) -> Sequence[Sequence[float]]:
    """The documents' vectors: embedded now, or the caller's precomputed ones, checked."""
    if vectors is None:
        vectors = embeddings.embed_passages([d.text for d in docs])
    check_vectors(docs, vectors, embeddings.dimension)
    return vectors
