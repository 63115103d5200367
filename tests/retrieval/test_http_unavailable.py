"""HTTP mode with no server answering gives a clear error naming `chroma run`."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrieval import MemoryConfigError, StoreUnavailableError, open_memory
from tests.retrieval.conftest import free_port, settings_for


def test_dead_server(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(StoreUnavailableError, match="chroma run"):
        open_memory(settings_for("http", tmp_path, url), "research")


def test_http_mode_without_url(tmp_path: Path) -> None:
    with pytest.raises(MemoryConfigError, match="DURABLE_RESEARCH_MEMORY_URL"):
        open_memory(settings_for("http", tmp_path, None), "research")
