"""HTTP mode: several processes write one collection at once; the shared lexical index stays in step.

Two shapes: a SQLite file the processes share (one host, or one volume), and Postgres (any hosts).
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from retrieval import open_memory
from tests.retrieval.conftest import settings_for

WRITER = """
import json, sys
from retrieval import Document, MemorySettings, open_memory
url, lexical, collection, tag = sys.argv[1:]
memory = open_memory(MemorySettings(mode="http", url=url, **json.loads(lexical)), collection)
for start in range(0, 200, 20):
    memory.upsert([Document(id=f"{tag}-{i}", text=f"Writer {tag} chunk {i} mentions WOMBAT_{tag}_{i}.")
                   for i in range(start, start + 20)])
"""


@pytest.mark.parametrize("shape", ["sqlite-file", "postgres"])
def test_concurrent_writers_share_one_lexical_index(
    tmp_path: Path, chroma_url: str, shape: str, request: pytest.FixtureRequest
) -> None:
    collection = f"shared-{uuid.uuid4().hex[:12]}"
    if shape == "postgres":
        lexical = {"lexical": "postgres", "lexical_url": request.getfixturevalue("postgres_url")}
    else:
        lexical = {"lexical_path": str(tmp_path / "lexical.sqlite3")}
    memory = open_memory(settings_for("http", tmp_path, chroma_url, **lexical), collection)
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, chroma_url, json.dumps(lexical), collection, tag])
        for tag in ("a", "b")
    ]
    assert [w.wait(timeout=120) for w in writers] == [0, 0]
    assert memory.count() == 400
    assert memory._lexical.count() == 400  # type: ignore[attr-defined]
    for tag in ("a", "b"):
        assert memory.query(f"Which chunk mentions WOMBAT_{tag}_137?", k=1)[0].id == f"{tag}-137"
