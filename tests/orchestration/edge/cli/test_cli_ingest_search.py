"""`durable-research ingest` and `search` on a fresh state folder, as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.retrieval.conftest import write_corpus

CLI = str(Path(sys.executable).parent / "durable-research")


def _run(home: Path, *args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DURABLE_RESEARCH_")}
    env.update(extra_env)
    env.update(
        DURABLE_RESEARCH_HOME=str(home),
        DURABLE_RESEARCH_MEMORY_CHUNK_SIZE="200",
        DURABLE_RESEARCH_MEMORY_CHUNK_OVERLAP="20",
        COLUMNS="200",
    )
    return subprocess.run([CLI, *args], capture_output=True, text=True, env=env, timeout=120, check=False)


def test_ingest_then_search_json(tmp_path: Path) -> None:
    home = tmp_path / "state"
    corpus = write_corpus(tmp_path / "corpus")

    first = _run(home, "ingest", str(corpus), "--collection", "docs", "--json")
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert report["collection"] == "docs" and report["added"] == report["chunks"] > 0
    assert (home / "memory").is_dir()

    again = json.loads(_run(home, "ingest", str(corpus), "-c", "docs", "--json").stdout)
    assert again["added"] == 0 and again["unchanged"] == report["chunks"]

    found = _run(home, "search", "how are activities retried?", "-c", "docs", "-k", "2", "--json")
    assert found.returncode == 0, found.stderr
    hits = json.loads(found.stdout)
    assert len(hits) == 2
    assert hits[0]["source"] == str(corpus / "temporal.md")
    assert "retry policy" in hits[0]["text"]
    assert hits[0]["id"].startswith("c-") and hits[0]["score"] >= hits[1]["score"]


def test_human_output_and_errors(tmp_path: Path) -> None:
    home = tmp_path / "state"
    corpus = write_corpus(tmp_path / "corpus")
    done = _run(home, "ingest", str(corpus))
    assert done.returncode == 0, done.stderr
    assert "Collection research: 3 documents" in done.stdout

    table = _run(home, "search", "vector database")
    assert table.returncode == 0 and "chroma.txt" in table.stdout

    missing_collection = _run(home, "search", "anything", "--collection", "nothing-here")
    assert missing_collection.returncode == 2 and "does not exist" in missing_collection.stderr
    again = _run(home, "search", "anything", "--collection", "nothing-here")
    assert "does not exist" in again.stderr, "the first search created an empty collection"

    bad = _run(home, "search", "x", "--collection", "a")
    assert bad.returncode == 2 and "[a-zA-Z0-9._-]" in bad.stderr

    missing = _run(home, "ingest", str(tmp_path / "nope"))
    assert missing.returncode == 2 and "does not exist" in missing.stderr


def test_server_mode_and_where_filter(tmp_path: Path, chroma_url: str) -> None:
    home = tmp_path / "state"
    corpus = write_corpus(tmp_path / "corpus")
    server = {"DURABLE_RESEARCH_MEMORY_MODE": "http", "DURABLE_RESEARCH_MEMORY_URL": chroma_url}
    collection = f"cli-{tmp_path.name[-20:].replace('_', '-')}"
    done = _run(home, "ingest", str(corpus), "-c", collection, "--json", **server)
    assert done.returncode == 0, done.stderr
    assert not (home / "memory").exists()  # nothing local: the server holds the data

    only = str(corpus / "chroma.txt")
    found = _run(
        home, "search", "durable workflows", "-c", collection, "--where", f"source={only}",
        "--json", **server,
    )  # fmt: skip
    assert found.returncode == 0, found.stderr
    hits = json.loads(found.stdout)
    assert hits and {h["source"] for h in hits} == {only}
