"""The package's public names are re-exported, sorted, and import neither Temporal nor LangGraph."""

from __future__ import annotations

import subprocess
import sys

import retrieval


def test_all_is_sorted_and_complete() -> None:
    # ruff's RUF022 order: CONSTANTS, then Classes, then functions, each alphabetical.
    def order(name: str) -> tuple[bool, bool, str]:
        return (not name.isupper(), not name[0].isupper(), name)

    assert retrieval.__all__ == sorted(retrieval.__all__, key=order)
    for name in retrieval.__all__:
        assert hasattr(retrieval, name), name
    for name in ("Document", "Hit", "SemanticMemory", "MemorySettings", "open_memory", "ingest"):
        assert name in retrieval.__all__


def test_importing_retrieval_loads_no_temporal_or_langgraph() -> None:
    code = (
        "import sys, retrieval, retrieval.ingest, retrieval.memory; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('temporalio', 'langgraph')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
