"""A real PostgreSQL server for tests (`initdb` + `postgres` from the machine), shared by the suite."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


def _as_user() -> list[str]:
    # PostgreSQL refuses to run as root; CI containers often are root.
    if os.geteuid() != 0:
        return []
    if shutil.which("runuser") is None:
        pytest.skip("running as root without runuser: cannot start PostgreSQL")
    try:
        subprocess.run(["id", "postgres"], check=True, capture_output=True)
    except subprocess.CalledProcessError:
        pytest.skip("running as root and there is no 'postgres' user to start PostgreSQL as")
    return ["runuser", "-u", "postgres", "--"]


def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real PostgreSQL in a temporary folder (fsync off); yields its URL. Skips without the binaries."""
    if shutil.which("initdb") is None or shutil.which("postgres") is None:
        pytest.skip("PostgreSQL binaries (initdb, postgres) are not installed")
    prefix, home = _as_user(), tmp_path_factory.mktemp("pg")
    if prefix:
        # pytest's tmp folders are private to root; the postgres user needs its own.
        home = Path(tempfile.mkdtemp(prefix="reasoning-pg-"))
        shutil.chown(home, user="postgres")
    data = home / "data"
    subprocess.run(
        [*prefix, "initdb", "-D", str(data), "-A", "trust", "-U", "postgres"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = (home / "server.log").open("w")
    server = subprocess.Popen(
        [
            *prefix,
            "postgres",
            "-D",
            str(data),
            "-p",
            str(port),
            "-h",
            "127.0.0.1",
            "-k",
            str(home),
            "-c",
            "fsync=off",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_for_port(port, server)
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*prefix, "pg_ctl", "-D", str(data), "stop", "-m", "fast"], capture_output=True, timeout=60)
        server.wait(timeout=30)
        log.close()
        if prefix:
            shutil.rmtree(home, ignore_errors=True)


def _wait_for_port(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert server.poll() is None, "postgres exited; see server.log"
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                time.sleep(0.3)  # accepting TCP slightly before it accepts logins
                return
        time.sleep(0.1)
    raise TimeoutError(f"postgres did not listen on {port}")
