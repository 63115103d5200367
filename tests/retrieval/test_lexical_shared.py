"""HTTP mode: several processes write one collection at once; the shared lexical index stays in step."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

from retrieval import open_memory
from tests.retrieval.conftest import settings_for

WRITER = """
import sys
from pathlib import Path
from retrieval import Document, MemorySettings, open_memory
url, lexical, collection, tag = sys.argv[1:]
memory = open_memory(MemorySettings(mode="http", url=url, lexical_path=Path(lexical)), collection)
for start in range(0, 200, 20):
    memory.upsert([Document(id=f"{tag}-{i}", text=f"Writer {tag} chunk {i} mentions WOMBAT_{tag}_{i}.")
                   for i in range(start, start + 20)])
"""


def test_concurrent_writers_share_one_lexical_index(tmp_path: Path, chroma_url: str) -> None:
    collection = f"shared-{uuid.uuid4().hex[:12]}"
    lexical = tmp_path / "lexical.sqlite3"
    memory = open_memory(settings_for("http", tmp_path, chroma_url), collection)
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, chroma_url, str(lexical), collection, tag])
        for tag in ("a", "b")
    ]
    assert [w.wait(timeout=120) for w in writers] == [0, 0]
    assert memory.count() == 400
    assert memory._lexical.count() == 400  # type: ignore[attr-defined]
    for tag in ("a", "b"):
        assert memory.query(f"Which chunk mentions WOMBAT_{tag}_137?", k=1)[0].id == f"{tag}-137"
