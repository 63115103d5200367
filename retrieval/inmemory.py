"""An in-process semantic memory with exact cosine search, for fast tests and notebooks."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from retrieval.embeddings import Embeddings
from retrieval.errors import CollectionNotFoundError, MemoryConfigError
from retrieval.filters import matches, normalize_where
from retrieval.hybrid import Fusion, hybrid_query
from retrieval.lexical import LEXICAL_ID, SqliteLexicalIndex
from retrieval.models import Document, Hit, Metadata
from retrieval.protocol import (
    NO_LEXICAL,
    check_model_record,
    check_query,
    embed_or_check,
    model_record,
    validate_collection_name,
)


@dataclass
class _Collection:
    record: dict[str, str | int]
    key: str = field(default_factory=lambda: f"memory-{uuid.uuid4().hex}")
    docs: dict[str, tuple[str, Metadata, np.ndarray]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


# Process-wide, like a local Chroma folder: opening a collection twice sees the same data.
_SPACE: dict[str, _Collection] = {}
_SPACE_LOCK = threading.Lock()


class InMemoryMemory:
    """`SemanticMemory` over a dict and numpy; same filter semantics as the Chroma stores.

    Collections live for the life of the process and are shared by name, so two
    `open_memory` calls in memory mode see the same data (use distinct names to isolate).
    Hybrid search uses the same SQLite FTS5 index as the Chroma stores, in memory.
    """

    def __init__(
        self,
        collection: str,
        embeddings: Embeddings,
        *,
        lexical: bool = True,
        fusion: Fusion | None = None,
        create: bool = True,
    ) -> None:
        self.collection = validate_collection_name(collection)
        self._embeddings = embeddings
        self._fusion = fusion or Fusion()
        lexical_id = LEXICAL_ID if lexical else NO_LEXICAL
        with _SPACE_LOCK:
            existing = _SPACE.get(collection)
            if existing is None and not create:
                raise CollectionNotFoundError(
                    f"Collection {collection!r} does not exist in this process's in-memory store."
                )
            if existing is None:
                _SPACE[collection] = _Collection(record=model_record(embeddings, lexical_id))
            else:
                check_model_record(collection, existing.record, embeddings, lexical_id)
            self._col = _SPACE[collection]
        self._lexical = SqliteLexicalIndex(None, self._col.key) if lexical else None

    def upsert(self, docs: Sequence[Document], *, embeddings: Sequence[Sequence[float]] | None = None) -> int:
        """Insert or replace by id; `embeddings` skips the model (benchmarks, re-imports)."""
        if not docs:
            return 0
        vectors = embed_or_check(docs, embeddings, self._embeddings)
        with self._col.lock:
            if self._lexical is not None:
                self._lexical.upsert(list({d.id: d for d in docs}.values()))
            before = len(self._col.docs)
            for doc, vec in zip(docs, vectors, strict=True):
                arr = np.asarray(vec, dtype=np.float32)
                arr = arr / (np.linalg.norm(arr) or 1.0)
                self._col.docs[doc.id] = (doc.text, dict(doc.metadata), arr)
            return len(self._col.docs) - before

    def query(self, text: str, k: int = 5, where: dict[str, Any] | None = None) -> list[Hit]:
        """Hybrid search (dense + lexical, fused) unless the store was opened without a lexical index."""
        return hybrid_query(
            text, k, where, embeddings=self._embeddings, dense=self.query_by_vector,
            lexical=self._lexical, fusion=self._fusion, get=self.get,
        )  # fmt: skip

    def query_by_vector(self, vector: Sequence[float], k: int = 5, where: dict[str, Any] | None = None) -> list[Hit]:
        """Search with an already-embedded query (embed once, search many collections)."""
        check_query("vector", k)
        flt = normalize_where(where)
        vec = np.asarray(vector, dtype=np.float32)
        vec = vec / (np.linalg.norm(vec) or 1.0)
        with self._col.lock:
            rows = [(i, t, m, v) for i, (t, m, v) in self._col.docs.items() if matches(m, flt)]
        if not rows:
            return []
        scores = np.stack([r[3] for r in rows]) @ vec
        order = np.argsort(-scores, kind="stable")[:k]
        return [Hit(id=rows[i][0], text=rows[i][1], score=float(scores[i]), metadata=dict(rows[i][2])) for i in order]

    def get(self, ids: Sequence[str]) -> list[Document]:
        with self._col.lock:
            found = [(i, self._col.docs.get(i)) for i in dict.fromkeys(ids)]
        return [Document(id=i, text=e[0], metadata=dict(e[1])) for i, e in found if e is not None]

    def delete(self, ids: Sequence[str] | None = None, where: dict[str, Any] | None = None) -> int:
        if ids is None and where is None:
            raise MemoryConfigError("delete needs ids, a where filter, or both.")
        flt = normalize_where(where)
        with self._col.lock:
            candidates = list(self._col.docs) if ids is None else list(dict.fromkeys(ids))
            doomed = [i for i in candidates if i in self._col.docs and matches(self._col.docs[i][1], flt)]
            for i in doomed:
                del self._col.docs[i]
            if self._lexical is not None:
                self._lexical.delete(doomed)
        return len(doomed)

    def count(self, where: dict[str, Any] | None = None) -> int:
        flt = normalize_where(where)
        with self._col.lock:
            return sum(1 for _, m, _ in self._col.docs.values() if matches(m, flt))

    def close(self) -> None:
        """Nothing to release; present so every store can be closed the same way."""
