"""Local mode keeps chunk text once, in the lexical index; Chroma keeps vectors and metadata."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from retrieval import ingest, open_memory
from retrieval.chroma_store import ChromaMemory
from retrieval.errors import EmbeddingMismatchError, MemoryConfigError, StoreUnavailableError
from retrieval.reindex import reindex
from tests.retrieval.conftest import settings_for, write_corpus


def _chroma_texts(memory: ChromaMemory) -> list[str | None]:
    return list(memory._col.get(include=["documents"])["documents"] or [])  # type: ignore[list-item]


def test_text_lives_in_the_lexical_index_only(tmp_path: Path, embeddings) -> None:
    settings = settings_for("local", tmp_path, chunk_size=200, chunk_overlap=20)
    memory = open_memory(settings, "research", embeddings=embeddings)
    assert isinstance(memory, ChromaMemory)
    try:
        report = ingest([str(write_corpus(tmp_path / "corpus"))], memory, settings=settings)
        assert report.chunks > 3
        assert not any(_chroma_texts(memory))  # Chroma holds no copy of the text
        hits = memory.query("how are activities retried?", k=3)
        assert hits and all(h.text for h in hits)
        assert "retried" in hits[0].text
        dense = memory.query_by_vector(embeddings.embed_query("stateful graphs of nodes"), k=2)
        assert dense and all(h.text for h in dense)
        got = memory.get([h.id for h in hits])
        assert [d.text for d in got] == [h.text for h in hits]
    finally:
        memory.close()


def test_lost_lexical_rows_are_a_clear_error_not_empty_text(tmp_path: Path, embeddings) -> None:
    settings = settings_for("local", tmp_path, chunk_size=200, chunk_overlap=20)
    memory = open_memory(settings, "research", embeddings=embeddings)
    ingest([str(write_corpus(tmp_path / "corpus"))], memory, settings=settings)
    memory.close()  # type: ignore[attr-defined]
    with sqlite3.connect(tmp_path / "memory" / "lexical.sqlite3") as db:
        tables = db.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'docs\\_%' ESCAPE '\\'")
        (table,) = [r[0] for r in tables]
        db.execute(f"DELETE FROM {table} WHERE rowid IN (SELECT rowid FROM {table} LIMIT 2)")
    with pytest.raises(MemoryConfigError, match="lacks 2 of its chunks"):
        open_memory(settings, "research", embeddings=embeddings)


def test_a_collection_with_text_in_chroma_must_be_reindexed_and_keeps_its_text(tmp_path: Path, embeddings) -> None:
    """A collection from HTTP mode or an older build (text in Chroma) moves to the local layout, and back."""
    corpus = write_corpus(tmp_path / "corpus")
    dense_only = settings_for("local", tmp_path, lexical="none", chunk_size=200, chunk_overlap=20)
    memory = open_memory(dense_only, "research", embeddings=embeddings)
    chunks = ingest([str(corpus)], memory, settings=dense_only).chunks
    memory.close()  # type: ignore[attr-defined]

    hybrid = settings_for("local", tmp_path, chunk_size=200, chunk_overlap=20)
    with pytest.raises(EmbeddingMismatchError, match="reindex"):
        open_memory(hybrid, "research", embeddings=embeddings)
    assert reindex(hybrid, "research", embeddings=embeddings).documents == chunks
    memory = open_memory(hybrid, "research", embeddings=embeddings)
    assert isinstance(memory, ChromaMemory)
    texts = sorted(d.text for d in memory.get(memory._col.get(include=[])["ids"]))
    assert len(texts) == chunks and all(texts) and not any(_chroma_texts(memory))
    memory.close()

    back = reindex(dense_only, "research", embeddings=embeddings)  # text moves from the index into Chroma
    assert back.documents == chunks
    memory = open_memory(dense_only, "research", embeddings=embeddings)
    assert isinstance(memory, ChromaMemory)
    assert sorted(t or "" for t in _chroma_texts(memory)) == texts
    memory.close()


def test_reindex_moves_the_text_from_sqlite_to_postgres(tmp_path: Path, embeddings, postgres_url: str) -> None:
    corpus = write_corpus(tmp_path / "corpus")
    sqlite = settings_for("local", tmp_path, chunk_size=200, chunk_overlap=20)
    memory = open_memory(sqlite, "research", embeddings=embeddings)
    chunks = ingest([str(corpus)], memory, settings=sqlite).chunks
    memory.close()  # type: ignore[attr-defined]

    postgres = settings_for(
        "local", tmp_path, chunk_size=200, chunk_overlap=20, lexical="postgres", lexical_url=postgres_url
    )
    assert reindex(postgres, "research", embeddings=embeddings).documents == chunks
    memory = open_memory(postgres, "research", embeddings=embeddings)
    assert isinstance(memory, ChromaMemory)
    try:
        assert not any(_chroma_texts(memory))
        hits = memory.query("how are activities retried?", k=2)
        assert "retried" in hits[0].text
        assert memory._lexical is not None and memory._lexical.count() == chunks
    finally:
        memory.close()


def test_postgres_lexical_index_needs_a_reachable_url(tmp_path: Path, embeddings) -> None:
    with pytest.raises(MemoryConfigError, match="DURABLE_RESEARCH_MEMORY_LEXICAL_URL"):
        open_memory(settings_for("local", tmp_path, lexical="postgres"), "research", embeddings=embeddings)
    down = settings_for("local", tmp_path, lexical="postgres", lexical_url="postgresql://u:secret@127.0.0.1:9/db")
    with pytest.raises(StoreUnavailableError, match="does not answer") as caught:
        open_memory(down, "research", embeddings=embeddings)
    assert "secret" not in str(caught.value)
    open_memory(settings_for("local", tmp_path), "research", embeddings=embeddings).close()  # nothing half-made
