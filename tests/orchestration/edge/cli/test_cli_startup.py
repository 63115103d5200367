"""The CLI starts without Chroma: chromadb costs 2-3 s to import (its jsonschema builds a URI
grammar), and `status`, `jobs`, `--help` and every refused input never open a store."""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_cli_loads_no_chromadb() -> None:
    code = (
        "import sys, orchestration.edge.cli.main, orchestration.activities, retrieval; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('chromadb', 'rfc3987_syntax')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_chroma_backed_names_still_resolve_on_use() -> None:
    code = "import retrieval; print(retrieval.ChromaMemory.__module__, retrieval.reindex.__module__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["retrieval.chroma_store", "retrieval.reindex"]
