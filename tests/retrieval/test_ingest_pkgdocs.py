"""`pkgdocs:` indexes installed packages' descriptions and module docstrings, offline."""

from __future__ import annotations

from pathlib import Path

from retrieval import SemanticMemory, ingest
from tests.retrieval.conftest import settings_for


def test_pkgdocs_indexes_description_and_docstrings(tmp_path: Path, local_store: SemanticMemory) -> None:
    settings = settings_for("local", tmp_path, chunk_size=500, chunk_overlap=50)
    report = ingest(["pkgdocs:chromadb,langgraph"], local_store, settings=settings)
    assert report.files == 4  # description + module docstrings, per package
    assert report.added == local_store.count() > 4
    titles = {
        str(d.metadata["title"]).split(": ")[1]
        for d in local_store.get([h.id for h in local_store.query("package", k=50)])
    }
    assert titles == {"package description", "module docstrings"}
    assert local_store.count({"source": "pkgdocs:chromadb"}) > 0
    hits = local_store.query("stateful agents built as graphs", k=3)
    assert hits[0].source == "pkgdocs:langgraph"
