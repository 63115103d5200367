"""Move a collection to the configured indexing (embedder, lexical index) without losing a document.

The documents are copied into a fresh staging collection built with the new settings,
then the old collection is deleted and the staging one renamed to the old name. A
reindex interrupted anywhere leaves the old collection, or the staging one, whole: run
it again and it resumes (a staging collection whose original is gone is renamed).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from chromadb.api import ClientAPI
from chromadb.errors import NotFoundError

from retrieval import local
from retrieval.chroma_store import TEXT_SUFFIX, ChromaMemory
from retrieval.embeddings import Embeddings
from retrieval.errors import MemoryConfigError
from retrieval.lexical import LexicalIndex
from retrieval.lexical_postgres import POSTGRES_LEXICAL_ID
from retrieval.memory import _http_client, fusion_of, lexical_store, make_embeddings, memory_path, text_in_lexical
from retrieval.models import Document
from retrieval.protocol import LEXICAL_KEY, NO_LEXICAL, validate_collection_name
from retrieval.settings import MemorySettings

_PAGE = 500


@dataclass(frozen=True)
class ReindexReport:
    """What a reindex moved: how many documents, from which indexing to which."""

    collection: str
    documents: int
    before: dict[str, str | int]
    after: dict[str, str | int]


def reindex(
    settings: MemorySettings,
    collection: str,
    *,
    home: Path | None = None,
    embeddings: Embeddings | None = None,
    progress: Callable[[int], None] | None = None,
) -> ReindexReport:
    """Re-embed and re-index every document of `collection` with the configured settings.

    Raises:
        MemoryConfigError: memory mode (nothing persists to move), or no such collection.
    """
    validate_collection_name(collection)
    if settings.mode == "memory":
        raise MemoryConfigError("Memory mode keeps nothing between processes; there is nothing to reindex.")
    model = embeddings or make_embeddings(settings)
    staging = f"{collection}-reindexing"
    path = memory_path(settings, home) if settings.mode == "local" else None
    client = local.acquire(path) if path is not None else _http_client(settings.url)
    try:
        old = _get(client, collection)
        if old is None:
            if _get(client, staging) is None:
                raise MemoryConfigError(f"No collection {collection!r} to reindex.")
            client.get_collection(staging).modify(name=collection)  # a previous run stopped here
            return ReindexReport(collection, client.get_collection(collection).count(), {}, {})
        before = {k: v for k, v in (old.metadata or {}).items() if isinstance(v, str | int)}
        target = ChromaMemory(
            client,
            staging,
            model,
            lexical=lexical_store(settings, home),
            fusion=fusion_of(settings),
            text_in_lexical=text_in_lexical(settings),
        )
        old_record = str(before.get(LEXICAL_KEY, NO_LEXICAL))
        old_index = _old_lexical(settings, home, old_record, str(old.id))
        # The old collection's text is in Chroma, or only in its lexical index (local mode).
        old_texts = old_index.texts if old_index is not None and old_record.endswith(TEXT_SUFFIX) else None
        moved = 0
        for start in range(0, old.count(), _PAGE):
            page = old.get(offset=start, limit=_PAGE, include=["documents", "metadatas"])  # type: ignore[list-item]
            texts = page["documents"] or []
            if old_texts is not None:
                found = old_texts(page["ids"])
                texts = [found.get(i, "") for i in page["ids"]]
            docs = [
                Document(id=i, text=t or "", metadata={k: v for k, v in (m or {}).items() if v is not None})
                for i, t, m in zip(page["ids"], texts, page["metadatas"] or [], strict=True)
            ]
            target.upsert(docs)
            moved += len(docs)
            if progress is not None:
                progress(moved)
        after = {k: v for k, v in (target._col.metadata or {}).items() if isinstance(v, str | int)}
        client.delete_collection(collection)
        target._col.modify(name=collection)  # the id stays, so the lexical index stays attached
        if old_index is not None:
            old_index.drop()
        return ReindexReport(collection, moved, before, after)
    finally:
        if path is not None:
            local.release(path)


def _old_lexical(settings: MemorySettings, home: Path | None, record: str, key: str) -> LexicalIndex | None:
    """The old collection's lexical index, found from what it recorded, whatever the new settings say."""
    if record == NO_LEXICAL:
        return None
    kind = "postgres" if record.startswith(POSTGRES_LEXICAL_ID) else "fts5"
    try:
        store = lexical_store(settings.model_copy(update={"lexical": kind}), home)
    except MemoryConfigError:
        if record.endswith(TEXT_SUFFIX):
            raise  # the old index holds the only copy of the text: it must be reachable
        return None  # e.g. a Postgres index and no URL configured any more: the text is in Chroma too
    return store.open(key) if store is not None else None


def _get(client: ClientAPI, name: str):  # type: ignore[no-untyped-def]
    try:
        return client.get_collection(name, embedding_function=None)  # type: ignore[arg-type]
    except NotFoundError:
        return None
