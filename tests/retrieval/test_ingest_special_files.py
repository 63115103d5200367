"""Only regular files are read, with a bound; a corpus has a total cap."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from retrieval import CorpusTooLargeError, NotARegularFileError, SemanticMemory, ingest
from retrieval.sources import read_file
from tests.retrieval.conftest import settings_for


def test_a_fifo_in_a_folder_is_skipped_not_read(tmp_path: Path, local_store: SemanticMemory) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "note.md").write_text("Temporal retries activities with a retry policy.")
    os.mkfifo(corpus / "pipe.md")  # opening it for reading would block for ever
    report = ingest([str(corpus)], local_store, settings=settings_for("local", tmp_path))
    assert report.files == 1
    assert [(Path(s.path).name, s.reason) for s in report.skipped] == [
        ("pipe.md", "not a regular file (FIFO (named pipe))")
    ]


@pytest.mark.parametrize("source", ["/dev/zero", "{fifo}"])
def test_an_explicit_special_file_is_refused_before_anything(
    tmp_path: Path, local_store: SemanticMemory, source: str
) -> None:
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(NotARegularFileError):
        ingest(
            [source.replace("{fifo}", str(tmp_path / "pipe"))], local_store, settings=settings_for("local", tmp_path)
        )
    assert local_store.count() == 0


def test_reading_is_bounded_even_when_the_size_lies(tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    big.write_text("x" * 5000)
    skipped = read_file(big, 1000)
    assert getattr(skipped, "reason", "").startswith("too large")


def test_the_corpus_has_a_total_cap(tmp_path: Path, local_store: SemanticMemory) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i in range(3):
        (corpus / f"doc{i}.md").write_text(f"Document {i}. " + "Chroma stores embeddings. " * 40)
    settings = settings_for("local", tmp_path, max_corpus_bytes=2000)
    with pytest.raises(CorpusTooLargeError, match="MAX_CORPUS_BYTES"):
        ingest([str(corpus)], local_store, settings=settings)
