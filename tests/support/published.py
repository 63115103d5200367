"""The documentation site's pages, for tests that check a page quotes committed results.

Numbers live on the page that explains them (docs/), not in the short README."""

from __future__ import annotations

from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs"


def page(name: str) -> str:
    """The Markdown source of `docs/<name>`, e.g. `page("benchmarks.md")`."""
    return (DOCS / name).read_text()
