"""A local store folder belongs to one process: shared in-process, refused across processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from retrieval import Document, StoreLockedError, open_memory
from tests.retrieval.conftest import settings_for

_HOLDER = """
import sys, time
from retrieval import MemorySettings, open_memory
memory = open_memory(MemorySettings(mode="local", path=sys.argv[1]), "locked")
print("ready", flush=True)
time.sleep(120)
"""


def test_same_process_shares_the_client(tmp_path: Path, embeddings) -> None:
    settings = settings_for("local", tmp_path)
    first = open_memory(settings, "shared", embeddings=embeddings)
    second = open_memory(settings, "shared", embeddings=embeddings)
    first.upsert([Document(id="a", text="hello", metadata={"source": "s"})])
    assert second.count() == 1
    first.close()  # type: ignore[attr-defined]
    assert second.count() == 1  # the other handle keeps the client open
    second.close()  # type: ignore[attr-defined]


def test_second_process_is_told_to_use_server_mode(tmp_path: Path, embeddings) -> None:
    folder = tmp_path / "memory"
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(folder)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(StoreLockedError) as caught:
            open_memory(settings_for("local", tmp_path), "locked", embeddings=embeddings)
        message = str(caught.value)
        assert f"pid {holder.pid}" in message
        assert "chroma run --path" in message
        assert "DURABLE_RESEARCH_MEMORY_MODE=http" in message
        assert "DURABLE_RESEARCH_MEMORY_URL" in message
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=10)
        holder.stdout.close()  # type: ignore[union-attr]
    # The kernel dropped the SIGKILLed holder's flock: the folder opens now.
    memory = open_memory(settings_for("local", tmp_path), "locked", embeddings=embeddings)
    assert memory.count() == 0
    memory.close()  # type: ignore[attr-defined]
