"""Caller metadata (job, tenant) lands on every chunk and scopes ids and stale-chunk cleanup."""

from __future__ import annotations

from pathlib import Path

from retrieval import SemanticMemory, ingest
from tests.retrieval.conftest import settings_for, write_corpus


def test_two_jobs_ingesting_one_file_keep_separate_chunks(tmp_path: Path, local_store: SemanticMemory) -> None:
    corpus = write_corpus(tmp_path / "corpus")
    settings = settings_for("local", tmp_path, chunk_size=200, chunk_overlap=20)
    one = ingest([str(corpus)], local_store, settings=settings, metadata={"job": "a", "tenant": "t"})
    two = ingest([str(corpus)], local_store, settings=settings, metadata={"job": "b", "tenant": "t"})
    assert one.added == two.added == one.chunks
    assert local_store.count({"job": "a"}) == local_store.count({"job": "b"}) == one.chunks
    hits = local_store.query("durable workflows", k=5, where={"job": "b", "tenant": "t"})
    assert hits and all(h.metadata["job"] == "b" for h in hits)

    (corpus / "chroma.txt").write_text("Rewritten for job b only.")
    ingest([str(corpus)], local_store, settings=settings, metadata={"job": "b", "tenant": "t"})
    assert local_store.count({"job": "a"}) == one.chunks  # job a's chunks untouched


def test_unscoped_reingest_leaves_scoped_chunks_alone(tmp_path: Path, local_store: SemanticMemory) -> None:
    doc = tmp_path / "note.md"
    doc.write_text("Version one of a note about child workflows.")
    settings = settings_for("local", tmp_path)
    ingest([str(doc)], local_store, settings=settings, metadata={"job": "a"})
    doc.write_text("Version two of the note, ingested without a job.")
    report = ingest([str(doc)], local_store, settings=settings)
    assert report.replaced == 0
    assert local_store.count({"job": "a"}) == 1 and local_store.count() == 2
