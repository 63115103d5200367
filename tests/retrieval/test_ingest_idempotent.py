"""Re-ingesting unchanged content adds nothing: chunk ids are content hashes."""

from __future__ import annotations

from pathlib import Path

from retrieval import IngestProgress, SemanticMemory, ingest
from tests.retrieval.conftest import settings_for, write_corpus


def test_second_ingest_adds_nothing(tmp_path: Path, local_store: SemanticMemory) -> None:
    corpus = write_corpus(tmp_path / "corpus")
    settings = settings_for("local", tmp_path, chunk_size=200, chunk_overlap=20, batch_size=4)
    seen: list[IngestProgress] = []

    first = ingest([str(corpus)], local_store, settings=settings, progress=seen.append)
    assert first.files == 3
    assert first.chunks > 6
    assert first.added == first.chunks == local_store.count()
    assert seen and seen[-1].chunks == first.chunks  # one report per batch
    assert len(seen) >= first.chunks // 4

    second = ingest([str(corpus)], local_store, settings=settings)
    assert (second.added, second.replaced) == (0, 0)
    assert second.unchanged == first.chunks
    assert local_store.count() == first.chunks


def test_chunks_carry_source_title_index_and_offsets(tmp_path: Path, local_store: SemanticMemory) -> None:
    corpus = write_corpus(tmp_path / "corpus")
    settings = settings_for("local", tmp_path, chunk_size=200, chunk_overlap=20)
    ingest([str(corpus / "temporal.md")], local_store, settings=settings)
    text = (corpus / "temporal.md").read_text()
    hits = local_store.query("retry policy with backoff", k=3)
    assert hits
    for hit in hits:
        meta = hit.metadata
        assert hit.source == str(corpus / "temporal.md")
        assert meta["title"] == "Temporal"
        assert isinstance(meta["chunk"], int)
        assert text[int(meta["start"]) : int(meta["end"])] == hit.text
