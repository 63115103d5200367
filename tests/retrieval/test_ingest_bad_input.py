"""Bad ingest input gets a specific error, or is skipped and listed, never silently dropped."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrieval import (
    EmptyCorpusError,
    MemoryConfigError,
    NetworkUnavailableError,
    SemanticMemory,
    SourceNotFoundError,
    UnknownPackageError,
    ingest,
)
from tests.retrieval.conftest import settings_for


@pytest.fixture
def settings(tmp_path: Path):
    return settings_for("local", tmp_path, chunk_size=200, chunk_overlap=20)


def test_missing_path_fails_before_indexing(tmp_path: Path, local_store: SemanticMemory, settings) -> None:
    good = tmp_path / "good.md"
    good.write_text("Some real text about workflows.")
    with pytest.raises(SourceNotFoundError, match="does not exist"):
        ingest([str(good), str(tmp_path / "missing")], local_store, settings=settings)
    assert local_store.count() == 0


def test_unknown_package(local_store: SemanticMemory, settings) -> None:
    with pytest.raises(UnknownPackageError, match="'no-such-package-xyz' is not installed"):
        ingest(["pkgdocs:chromadb,no-such-package-xyz"], local_store, settings=settings)


def test_empty_corpus(tmp_path: Path, local_store: SemanticMemory, settings) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(EmptyCorpusError, match="no text"):
        ingest([str(tmp_path / "empty")], local_store, settings=settings)
    with pytest.raises(EmptyCorpusError, match="No sources"):
        ingest([], local_store, settings=settings)


def test_binary_and_unsupported_files_are_skipped_and_listed(
    tmp_path: Path, local_store: SemanticMemory, settings
) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "ok.md").write_text("Readable text about activities.")
    (folder / "blob.md").write_bytes(b"\x89PNG\x00\x00\x01binary")
    (folder / "image.png").write_bytes(b"\x89PNG\x00")
    report = ingest([str(folder)], local_store, settings=settings)
    assert report.files == 1
    reasons = {Path(s.path).name: s.reason for s in report.skipped}
    assert "binary" in reasons["blob.md"]
    assert "unsupported file type .png" in reasons["image.png"]
    with pytest.raises(EmptyCorpusError, match=r"blob\.md: binary"):
        ingest([str(folder / "blob.md")], local_store, settings=settings)


def test_non_utf8_is_decoded_with_replacement_and_reported(
    tmp_path: Path, local_store: SemanticMemory, settings
) -> None:
    latin = tmp_path / "latin.txt"
    latin.write_bytes("Café au lait, naïve résumé.".encode("latin-1"))
    report = ingest([str(latin)], local_store, settings=settings)
    assert report.added == 1
    assert any("latin.txt: not valid UTF-8" in w and "replaced" in w for w in report.warnings)
    (doc,) = local_store.get([h.id for h in local_store.query("coffee", k=1)])
    assert doc.text == "Caf\ufffd au lait, na\ufffdve r\ufffdsum\ufffd."


def test_unreadable_file_is_skipped(tmp_path: Path, local_store: SemanticMemory, settings) -> None:
    folder = tmp_path / "links"
    folder.mkdir()
    (folder / "ok.md").write_text("Readable text.")
    # A dangling link is unreadable for every user (chmod 0 is not, when tests run as root).
    (folder / "gone.md").symlink_to(tmp_path / "deleted.md")
    report = ingest([str(folder)], local_store, settings=settings)
    assert report.files == 1
    assert [Path(s.path).name for s in report.skipped] == ["gone.md"]
    assert "unreadable" in report.skipped[0].reason


def test_url_without_network(local_store: SemanticMemory, settings) -> None:
    # The .invalid top-level domain never resolves (RFC 6761), with or without a network.
    with pytest.raises(NetworkUnavailableError, match="no network"):
        ingest(["https://docs.example.invalid/page.html"], local_store, settings=settings)


def test_overlap_not_smaller_than_chunk(tmp_path: Path, local_store: SemanticMemory) -> None:
    settings = settings_for("local", tmp_path, chunk_size=100, chunk_overlap=100)
    with pytest.raises(MemoryConfigError, match="chunk_overlap"):
        ingest(["pkgdocs:chromadb"], local_store, settings=settings)


def test_a_lone_string_is_one_source(tmp_path: Path, local_store: SemanticMemory, settings) -> None:
    note = tmp_path / "note.md"
    note.write_text("One small note.")
    report = ingest(str(note), local_store, settings=settings)  # type: ignore[arg-type]
    assert report.sources == [str(note)] and report.files == 1
