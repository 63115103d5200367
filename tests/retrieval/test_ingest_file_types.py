"""HTML, PDF, reStructuredText and extension-less text files become clean chunk text."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrieval import SemanticMemory, ingest
from tests.retrieval.conftest import settings_for

HTML = """<!doctype html><html><head><title>Saga  guide</title>
<style>body { color: red; }</style><script>var secret = "do not index";</script></head>
<body><h1>Compensations</h1><p>Each publish step registers its compensation
and they run in reverse.</p></body></html>"""


def _docs(store: SemanticMemory) -> dict[str, tuple[str, str]]:
    hits = store.query("document", k=20)
    return {Path(h.source).name: (str(h.metadata["title"]), h.text) for h in hits}


def test_html_pdf_rst_and_plain(tmp_path: Path, local_store: SemanticMemory) -> None:
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "saga.html").write_text(HTML)
    (folder / "notes.rst").write_text("Approval\n========\n\nApprovals wait on a durable timer.")
    (folder / "README").write_text("Plain text without an extension.")
    fig = Figure()
    fig.text(0.1, 0.5, "Durable timers survive restarts")
    fig.savefig(folder / "timers.pdf", metadata={"Title": "Timers paper"})

    report = ingest([str(folder)], local_store, settings=settings_for("local", tmp_path))
    assert report.files == 4 and not report.skipped
    docs = _docs(local_store)
    title, text = docs["saga.html"]
    assert title == "Saga guide"
    assert "Compensations" in text and "run in reverse" in text
    assert "secret" not in text and "color" not in text
    assert docs["timers.pdf"] == ("Timers paper", "Durable timers survive restarts")
    assert docs["notes.rst"][1].startswith("Approval")
    assert docs["README"] == ("README", "Plain text without an extension.")


def test_corrupt_pdf_is_skipped(tmp_path: Path, local_store: SemanticMemory) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "ok.md").write_text("Fine.")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.7\nthis is not really a pdf")
    report = ingest([str(folder)], local_store, settings=settings_for("local", tmp_path))
    assert [(Path(s.path).name, s.reason.split(":")[0]) for s in report.skipped] == [("broken.pdf", "unreadable PDF")]
