"""A changed file replaces its old chunks; other files are untouched."""

from __future__ import annotations

from pathlib import Path

from retrieval import SemanticMemory, ingest
from tests.retrieval.conftest import settings_for, write_corpus


def test_changed_file_replaces_its_chunks(tmp_path: Path, local_store: SemanticMemory) -> None:
    corpus = write_corpus(tmp_path / "corpus")
    settings = settings_for("local", tmp_path, chunk_size=200, chunk_overlap=20)
    ingest([str(corpus)], local_store, settings=settings)
    chroma = str(corpus / "chroma.txt")
    others_before = local_store.count({"source": {"$ne": chroma}})

    (corpus / "chroma.txt").write_text("Chroma answers nearest-neighbour queries quickly.")
    report = ingest([str(corpus)], local_store, settings=settings)

    assert report.added == 1
    assert report.replaced >= 1
    assert local_store.count({"source": chroma}) == 1
    assert local_store.count({"source": {"$ne": chroma}}) == others_before
    (hit,) = local_store.query("vector database", k=1, where={"source": chroma})
    assert hit.text == "Chroma answers nearest-neighbour queries quickly."


def test_edit_keeping_a_chunk_updates_its_offsets(tmp_path: Path, local_store: SemanticMemory) -> None:
    doc = tmp_path / "notes.md"
    kept = "Durable timers survive restarts of the Temporal server."
    doc.write_text(kept)
    settings = settings_for("local", tmp_path, chunk_size=200, chunk_overlap=0)
    ingest([str(doc)], local_store, settings=settings)

    doc.write_text("A new opening paragraph about approval waits.\n\n" + "x" * 180 + "\n\n" + kept)
    ingest([str(doc)], local_store, settings=settings)

    texts = {d.text: d for d in local_store.get([h.id for h in local_store.query("timers", k=5)])}
    assert kept in texts
    start = int(texts[kept].metadata["start"])
    assert doc.read_text()[start : start + len(kept)] == kept
