"""One persistent Chroma client per folder per process, guarded by an OS file lock.

Chroma is not safe for several processes on one persistent folder (stale reads,
index corruption). Within a process every `open_memory` on the same folder shares
one client; a second process gets `StoreLockedError` telling it to use server mode.
`fcntl.flock` is released by the kernel when the holder dies, even by SIGKILL, so
a crashed worker never leaves the folder locked.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from retrieval.errors import StoreLockedError

if TYPE_CHECKING:
    from chromadb.api import ClientAPI

LOCK_NAME = ".durable-research.lock"


@dataclass
class _Shared:
    client: ClientAPI
    fd: int
    refs: int = 0


_OPEN: dict[Path, _Shared] = {}
_OPEN_LOCK = threading.Lock()


def acquire(path: Path) -> ClientAPI:
    """Return this process's client for `path`, taking the folder lock on first use.

    Raises:
        StoreLockedError: another process holds the folder.
    """
    path = path.expanduser().resolve()
    with _OPEN_LOCK:
        shared = _OPEN.get(path)
        if shared is None:
            shared = _open(path)
            _OPEN[path] = shared
        shared.refs += 1
        return shared.client


def release(path: Path) -> None:
    """Drop one reference; the last one closes the client and releases the lock."""
    path = path.expanduser().resolve()
    with _OPEN_LOCK:
        shared = _OPEN.get(path)
        if shared is None:
            return
        shared.refs -= 1
        if shared.refs > 0:
            return
        del _OPEN[path]
    with contextlib.suppress(Exception):  # closing must not mask the caller's own error
        shared.client.close()  # type: ignore[attr-defined]
    fcntl.flock(shared.fd, fcntl.LOCK_UN)
    os.close(shared.fd)


def _open(path: Path) -> _Shared:
    path.mkdir(parents=True, exist_ok=True)
    fd = os.open(path / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        pid = os.pread(fd, 64, 0).decode(errors="replace").strip()
        holder = f"pid {pid}" if pid.isdigit() else "another process"
        os.close(fd)
        raise StoreLockedError(
            f"The semantic memory folder {path} is in use by {holder}; Chroma cannot "
            "share a persistent folder between processes. Use server mode: run "
            f"`chroma run --path {path} --host 127.0.0.1 --port 8000` once, then set "
            "DURABLE_RESEARCH_MEMORY_MODE=http and "
            "DURABLE_RESEARCH_MEMORY_URL=http://127.0.0.1:8000 in every process."
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, str(os.getpid()).encode(), 0)
    try:
        client = _client(path)
    except BaseException:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
        raise
    return _Shared(client=client, fd=fd)


def _client(path: Path) -> ClientAPI:
    import chromadb
    from chromadb.config import Settings

    return chromadb.PersistentClient(path=str(path), settings=Settings(anonymized_telemetry=False))
