"""An ingest killed mid-way (SIGKILL), re-run, completes without duplicates."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from retrieval import ingest, open_memory
from tests.retrieval.conftest import settings_for, write_corpus

_INGEST = """
import sys, time
from retrieval import MemorySettings, ingest, open_memory
settings = MemorySettings(mode="local", path=sys.argv[1], chunk_size=200, chunk_overlap=20,
                          batch_size=2)
memory = open_memory(settings, "ingest")

def progress(p):
    print(p.chunks, flush=True)
    time.sleep(60)  # killed here, after the first batch is stored

ingest([sys.argv[2]], memory, settings=settings, progress=progress)
"""


def test_rerun_after_sigkill_completes_without_duplicates(tmp_path: Path, embeddings) -> None:
    corpus = write_corpus(tmp_path / "corpus")
    child = subprocess.Popen(
        [sys.executable, "-c", _INGEST, str(tmp_path / "memory"), str(corpus)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "2"  # first batch of 2 chunks is in
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=10)
    child.stdout.close()

    settings = settings_for("local", tmp_path, chunk_size=200, chunk_overlap=20, batch_size=2)
    memory = open_memory(settings, "ingest", embeddings=embeddings)
    try:
        assert memory.count() == 2
        report = ingest([str(corpus)], memory, settings=settings)
        assert report.unchanged == 2
        assert report.added == report.chunks - 2
        assert memory.count() == report.chunks
        again = ingest([str(corpus)], memory, settings=settings)
        assert again.added == 0 and memory.count() == report.chunks
    finally:
        memory.close()  # type: ignore[attr-defined]
