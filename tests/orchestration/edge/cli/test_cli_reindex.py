"""`durable-research reindex` moves a collection built with other settings; `search ""` is refused up front."""

from __future__ import annotations

import json
from pathlib import Path

from tests.orchestration.edge.cli.test_cli_ingest_search import _run
from tests.retrieval.conftest import write_corpus


def test_reindex_moves_a_collection_that_search_refused(tmp_path: Path) -> None:
    home = tmp_path / "state"
    corpus = write_corpus(tmp_path / "corpus")
    built = _run(home, "ingest", str(corpus), "--json", DURABLE_RESEARCH_MEMORY_LEXICAL="none")
    assert built.returncode == 0, built.stderr
    chunks = json.loads(built.stdout)["chunks"]

    refused = _run(home, "search", "how are activities retried?")
    assert refused.returncode != 0
    assert "durable-research reindex --collection research" in refused.stderr
    assert "Traceback" not in refused.stderr

    moved = _run(home, "reindex", "--json")
    assert moved.returncode == 0, moved.stderr
    report = json.loads(moved.stdout)
    assert report["documents"] == chunks
    assert report["before"]["lexical_index"] == "none" != report["after"]["lexical_index"]

    found = _run(home, "search", "how are activities retried?", "-k", "1", "--json")
    assert found.returncode == 0, found.stderr
    assert json.loads(found.stdout)[0]["source"] == str(corpus / "temporal.md")


def test_empty_query_is_refused_before_opening_the_memory(tmp_path: Path) -> None:
    home = tmp_path / "state"
    done = _run(home, "search", "   ")
    assert done.returncode != 0 and "query is empty" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (home / "memory").exists()
