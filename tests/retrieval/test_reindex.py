"""`reindex` moves a collection to the configured indexing without losing a document, and resumes."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrieval import Document, EmbeddingMismatchError, MemoryConfigError, open_memory, reindex
from retrieval.local import acquire, release
from tests.retrieval.conftest import settings_for

DOCS = [
    Document(id=f"d{i}", text=f"Chunk {i} explains setting NUMBAT_{i} of the worker.", metadata={"n": i})
    for i in range(7)
]


def _old_collection(tmp_path: Path) -> None:
    # Built with other settings: dense only, as before hybrid search.
    store = open_memory(settings_for("local", tmp_path, lexical="none"), "notes")
    store.upsert(DOCS)
    store.close()  # type: ignore[attr-defined]


def test_reindex_moves_every_document_to_the_configured_settings(tmp_path: Path) -> None:
    _old_collection(tmp_path)
    with pytest.raises(EmbeddingMismatchError, match="reindex"):
        open_memory(settings_for("local", tmp_path), "notes")
    report = reindex(settings_for("local", tmp_path), "notes")
    assert report.documents == len(DOCS)
    assert report.before["lexical_index"] == "none" and report.after["lexical_index"] != "none"
    store = open_memory(settings_for("local", tmp_path), "notes")
    try:
        assert store.count() == len(DOCS)
        assert store.get(["d3"]) == [DOCS[3]]
        assert store.query("What is NUMBAT_5?", k=1)[0].id == "d5"
    finally:
        store.close()  # type: ignore[attr-defined]


def test_a_reindex_stopped_after_the_delete_is_finished_by_the_next_run(tmp_path: Path) -> None:
    _old_collection(tmp_path)
    client = acquire(tmp_path / "memory")
    try:  # the state a crash between "delete old" and "rename staging" leaves
        client.get_collection("notes").modify(name="notes-reindexing")
    finally:
        release(tmp_path / "memory")
    report = reindex(settings_for("local", tmp_path, lexical="none"), "notes")
    assert report.documents == len(DOCS)
    store = open_memory(settings_for("local", tmp_path, lexical="none"), "notes")
    assert store.count() == len(DOCS)
    store.close()  # type: ignore[attr-defined]


def test_nothing_to_reindex_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(MemoryConfigError, match="No collection 'absent'"):
        reindex(settings_for("local", tmp_path), "absent")
    with pytest.raises(MemoryConfigError, match="Memory mode"):
        reindex(settings_for("memory", tmp_path), "absent")
