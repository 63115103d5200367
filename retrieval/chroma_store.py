"""Chroma-backed semantic memory: one class over a persistent local client or an HTTP client."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection
from chromadb.errors import ChromaError, InvalidArgumentError, NotFoundError

from retrieval.embeddings import Embeddings
from retrieval.errors import CollectionNotFoundError, InvalidCollectionNameError, InvalidFilterError, MemoryConfigError
from retrieval.filters import normalize_where
from retrieval.hybrid import Fusion, hybrid_query
from retrieval.lexical import LexicalStore
from retrieval.models import Document, Hit, Metadata
from retrieval.protocol import (
    NO_LEXICAL,
    check_model_record,
    check_query,
    embed_or_check,
    model_record,
    validate_collection_name,
)

# Chroma caps one call (about 5,000 rows locally); stay well under it.
_MAX_CALL = 1000
# Wider HNSW beams than Chroma's defaults (100/100): with those, two fresh ingests of the
# same corpus returned different dense top-30s, which moved the bench's MRR@10 between
# 0.887 and 0.925 from run to run. With these the candidates are the same every run, and
# ingest and query costs stay within their goals at 10,000 chunks (measured).
# `sync_threshold` 100 (Chroma's default 1,000): until the index is persisted, every write
# pays again for the writes not yet persisted, so small writes (a batch's 25 results at a
# time, a job's notes) cost 1.97 ms of CPU per row at 6,000 rows, 1.41 with 100; writes of
# 100 rows or more cost the same either way (measured: 1.15/1.14 ms per row at 100).
_HNSW = {"space": "cosine", "ef_construction": 200, "ef_search": 300, "sync_threshold": 100}


class ChromaMemory:
    """`SemanticMemory` over a Chroma collection whose vectors this package computes.

    Chroma's own embedding function is never used: it downloads a model at run time
    and fails offline. The collection uses cosine space. With a lexical index (the
    default) `query` is hybrid: Chroma's nearest neighbours and the index's BM25 matches,
    fused (`retrieval.hybrid`); without one, ``score = 1 - distance``.

    Both indexes share the chunk ids. Writes go lexical-first, deletes Chroma-first, so
    the lexical index always holds every chunk Chroma holds: a crash between the two
    leaves at most extra lexical rows, which a query never returns (lexical-only hits
    are read back from Chroma) and which a re-run of the ingest overwrites.

    With `text_in_lexical` (local mode) the chunk text is stored once, in the lexical
    index, and Chroma keeps vectors and metadata: Chroma indexes every document it
    stores for its own full-text filters, which this package never uses, and that
    indexing was more than half of an ingest's time (measured: 790 -> 1,800 rows/s
    written). The write order above is what makes this safe: every chunk Chroma
    holds has its text in the lexical index. HTTP mode keeps the text in Chroma too,
    because another host may have no lexical file (it rebuilds one from Chroma).
    """

    def __init__(
        self,
        client: ClientAPI,
        collection: str,
        embeddings: Embeddings,
        *,
        lexical: LexicalStore | None = None,
        fusion: Fusion | None = None,
        on_close: Callable[[], None] | None = None,
        create: bool = True,
        text_in_lexical: bool = False,
    ) -> None:
        self.collection = validate_collection_name(collection)
        if text_in_lexical and lexical is None:
            raise MemoryConfigError("text_in_lexical needs a lexical index to hold the text.")
        self._embeddings = embeddings
        self._on_close = on_close
        self._fusion = fusion or Fusion()
        self._text_in_lexical = text_in_lexical
        lexical_id = lexical_record(lexical, text_in_lexical=text_in_lexical)
        self._col = _open_collection(client, collection, embeddings, lexical_id, create=create)
        self._lexical = lexical.open(str(self._col.id)) if lexical is not None else None
        # Cumulative seconds per stage of `upsert`, for benchmarks ("where the time goes").
        self.timings: dict[str, float] = {"embed": 0.0, "lexical": 0.0, "chroma": 0.0}
        self._catch_up()

    def _catch_up(self) -> None:
        """Index lexically any chunk Chroma holds and the index lacks (another writer, an old build).

        Raises:
            MemoryConfigError: the index holds the text and lost rows (a deleted or replaced
                file): the text of those chunks is gone, only a new ingest restores it.
        """
        if self._lexical is None or self._lexical.count() >= self._col.count():
            return
        if self._text_in_lexical:
            lost = self._col.count() - self._lexical.count()
            raise MemoryConfigError(
                f"The lexical index of collection {self.collection!r} lacks {lost} of its chunks, and it holds "
                "their text (was its lexical.sqlite3 file deleted or replaced?). Delete the collection and "
                "ingest its sources again."
            )
        missing = sorted(set(self._col.get(include=[])["ids"]) - self._lexical.ids())
        for start in range(0, len(missing), _MAX_CALL):
            self._lexical.upsert(self.get(missing[start : start + _MAX_CALL]))

    def upsert(self, docs: Sequence[Document], *, embeddings: Sequence[Sequence[float]] | None = None) -> int:
        """Insert or replace by id; `embeddings` skips the model (benchmarks, re-imports)."""
        if not docs:
            return 0
        started = time.perf_counter()
        vectors = embed_or_check(docs, embeddings, self._embeddings)
        self.timings["embed"] += time.perf_counter() - started
        # Chroma refuses duplicate ids in one call; the last one wins, as in a dict.
        pairs = list({d.id: (d, v) for d, v in zip(docs, vectors, strict=True)}.values())
        added = 0
        for start in range(0, len(pairs), _MAX_CALL):
            part = pairs[start : start + _MAX_CALL]
            ids = [d.id for d, _ in part]
            started = time.perf_counter()
            if self._lexical is not None:
                self._lexical.upsert([d for d, _ in part])
            lexical_done = time.perf_counter()
            added += len(ids) - len(self._col.get(ids=ids, include=[])["ids"])
            self._col.upsert(
                ids=ids,
                documents=None if self._text_in_lexical else [d.text for d, _ in part],
                metadatas=[d.metadata or None for d, _ in part],  # type: ignore[misc]
                embeddings=np.asarray([v for _, v in part], dtype=np.float32),
            )
            self.timings["lexical"] += lexical_done - started
            self.timings["chroma"] += time.perf_counter() - lexical_done
        return added

    def query(self, text: str, k: int = 5, where: dict[str, Any] | None = None) -> list[Hit]:
        """Hybrid search (dense + lexical, fused) when the collection has a lexical index.

        Raises:
            MemoryConfigError: an empty query or ``k < 1``.
        """
        return hybrid_query(
            text, k, where, embeddings=self._embeddings, dense=self.query_by_vector,
            lexical=self._lexical, fusion=self._fusion, get=self.get,
        )  # fmt: skip

    def query_by_vector(self, vector: Sequence[float], k: int = 5, where: dict[str, Any] | None = None) -> list[Hit]:
        """Search with an already-embedded query (embed once, search many collections)."""
        check_query("vector", k)
        flt = normalize_where(where)
        with _filter_errors():
            res = self._col.query(
                query_embeddings=np.asarray([vector], dtype=np.float32),
                n_results=k,
                where=flt,
                include=self._include("distances"),
            )
        ids = res["ids"][0]
        docs = self._texts(ids, (res["documents"] or [[]])[0] if res["documents"] else None)
        metas = (res["metadatas"] or [[]])[0]
        dists = (res["distances"] or [[]])[0]
        return [
            Hit(id=i, text=t or "", score=1.0 - float(d), metadata=_scalars(m))
            for i, t, m, d in zip(ids, docs, metas, dists, strict=True)
        ]

    def get(self, ids: Sequence[str]) -> list[Document]:
        wanted = list(dict.fromkeys(ids))
        found: dict[str, Document] = {}
        for start in range(0, len(wanted), _MAX_CALL):
            res = self._col.get(ids=wanted[start : start + _MAX_CALL], include=self._include())
            texts = self._texts(res["ids"], res["documents"])
            for i, t, m in zip(res["ids"], texts, res["metadatas"] or [], strict=True):
                found[i] = Document(id=i, text=t or "", metadata=_scalars(m))
        return [found[i] for i in wanted if i in found]

    def _include(self, *extra: str) -> Any:
        """What to read from Chroma: the text too, unless the lexical index holds it."""
        return ["metadatas", *extra] if self._text_in_lexical else ["documents", "metadatas", *extra]

    def _texts(self, ids: Sequence[str], from_chroma: Sequence[str | None] | None) -> list[str | None]:
        """The text of each id: Chroma's, or the lexical index's when it holds the only copy."""
        if not self._text_in_lexical:
            return list(from_chroma or [])
        assert self._lexical is not None
        rows = self._lexical.texts(ids)
        return [rows.get(i) for i in ids]

    def delete(self, ids: Sequence[str] | None = None, where: dict[str, Any] | None = None) -> int:
        if ids is None and where is None:
            raise MemoryConfigError("delete needs ids, a where filter, or both.")
        flt = normalize_where(where)
        if ids is not None and not ids:
            return 0
        with _filter_errors():
            doomed = self._col.get(ids=list(ids) if ids else None, where=flt, include=[])["ids"]
        for start in range(0, len(doomed), _MAX_CALL):
            part = doomed[start : start + _MAX_CALL]
            self._col.delete(ids=part)
            if self._lexical is not None:
                self._lexical.delete(part)
        return len(doomed)

    def count(self, where: dict[str, Any] | None = None) -> int:
        flt = normalize_where(where)
        if flt is None:
            return self._col.count()
        with _filter_errors():
            return len(self._col.get(where=flt, include=[])["ids"])

    def close(self) -> None:
        """Release this handle (for a local store: the shared client and the folder lock)."""
        if self._on_close is not None:
            callback, self._on_close = self._on_close, None
            callback()


def lexical_record(lexical: LexicalStore | None, *, text_in_lexical: bool = False) -> str:
    """What a collection records about its lexical index (and where its text lives)."""
    if lexical is None:
        return NO_LEXICAL
    return f"{lexical.record}{TEXT_SUFFIX}" if text_in_lexical else lexical.record


# Appended to the lexical record when the index holds the only copy of the chunk text.
TEXT_SUFFIX = "+text"


def _not_found(name: str) -> str:
    return (
        f"Collection {name!r} does not exist. Index something into it first: "
        f"`durable-research ingest SOURCE --collection {name}`."
    )


def _open_collection(
    client: ClientAPI, name: str, embeddings: Embeddings, lexical: str, *, create: bool = True
) -> Collection:
    """Get the collection, or (with `create`) create it in cosine space with its indexing recorded."""
    for _ in range(2):
        try:
            col = client.get_collection(name, embedding_function=None)  # type: ignore[arg-type]
        except NotFoundError:
            if not create:
                raise CollectionNotFoundError(_not_found(name)) from None
        else:
            check_model_record(name, col.metadata, embeddings, lexical)
            return col
        try:
            return client.create_collection(
                name,
                metadata=model_record(embeddings, lexical),  # type: ignore[arg-type]
                configuration={"hnsw": _HNSW},  # type: ignore[arg-type]
                embedding_function=None,  # type: ignore[arg-type]
            )
        except InvalidArgumentError as exc:
            raise InvalidCollectionNameError(f"Chroma refused collection {name!r}: {exc}") from exc
        except ChromaError as exc:
            if "already exists" not in str(exc):
                raise
            # Another client created it between our get and create: read it back.
    raise MemoryConfigError(f"Could not open or create collection {name!r}.")


@contextmanager
def _filter_errors() -> Iterator[None]:
    """Turn Chroma's ValueError about a malformed filter into InvalidFilterError."""
    try:
        yield
    except ValueError as exc:
        if "where" not in str(exc).lower():
            raise
        raise InvalidFilterError(f"Chroma refused the filter: {exc}") from exc


def _scalars(meta: Mapping[str, Any] | None) -> Metadata:
    """Chroma's metadata type is wider than ours; keep the flat scalar values we store."""
    return {k: v for k, v in (meta or {}).items() if isinstance(v, str | int | float | bool)}
