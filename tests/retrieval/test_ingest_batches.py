"""Ingest writes chunks of consecutive documents together, and still replaces each changed document."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from retrieval import ingest, open_memory
from retrieval.models import Document
from tests.retrieval.conftest import settings_for


class _Counting:
    """A real store that counts the writes and deletes ingest makes."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.upserts, self.deletes = inner, [], 0

    def upsert(self, docs: list[Document], **kw: Any) -> int:
        self.upserts.append(len(docs))
        return self.inner.upsert(docs, **kw)

    def delete(self, *args: Any, **kw: Any) -> int:
        self.deletes += 1
        return self.inner.delete(*args, **kw)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def _corpus(folder: Path, files: int, version: str = "one") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(files):
        body = f"Document {i} version {version}. " + f"Sentence {i} about durable workflows and retries. " * 8
        (folder / f"doc{i:02d}.md").write_text(body)
    (folder / "big.md").write_text(" ".join(f"Long document paragraph {j} on graphs." for j in range(120)))
    return folder


def test_chunks_of_many_documents_share_a_write_and_changed_ones_are_replaced(tmp_path: Path, embeddings) -> None:
    settings = settings_for("local", tmp_path, chunk_size=200, chunk_overlap=20, batch_size=16)
    corpus = _corpus(tmp_path / "corpus", files=30)
    memory = open_memory(settings, "batches", embeddings=embeddings)
    try:
        counting = _Counting(memory)
        first = ingest([str(corpus)], counting, settings=settings)
        assert first.files == 31 and first.chunks > 31 * 2
        # Every write is a full batch but the last; the big document spans several of them.
        assert counting.upserts[:-1] == [16] * (len(counting.upserts) - 1)
        assert sum(counting.upserts) == first.chunks
        assert counting.deletes < first.files  # stale chunks are looked for once per write, not per file
        assert memory.count() == first.chunks

        _corpus(corpus, files=30, version="two")  # every small document changes
        counting = _Counting(memory)
        second = ingest([str(corpus)], counting, settings=settings)
        assert second.replaced == first.chunks - second.unchanged  # each old chunk of a changed file went
        assert memory.count() == second.chunks == first.chunks
        hits = memory.query("Document 3 version one", k=50)
        assert hits and all("version one" not in h.text for h in hits)
        again = ingest([str(corpus)], memory, settings=settings)
        assert again.added == 0 and again.replaced == 0 and memory.count() == first.chunks
    finally:
        memory.close()  # type: ignore[attr-defined]
