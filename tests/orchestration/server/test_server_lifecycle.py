"""The embedded server starts, is reused while alive, and stops by its recorded pid."""

from __future__ import annotations

import os
from pathlib import Path

from orchestration.server import EmbeddedServer, _pid_is_temporal
from tests.conftest import make_settings


def test_start_reuse_stop(tmp_path: Path) -> None:
    server = EmbeddedServer(make_settings(tmp_path / "home"))
    first = server.ensure_started()
    try:
        assert _pid_is_temporal(first.pid)
        assert server.running() == first
        assert (tmp_path / "home" / "temporal.db").exists()

        # A second caller (another CLI invocation) reuses the same process.
        again = EmbeddedServer(make_settings(tmp_path / "home")).ensure_started()
        assert again.pid == first.pid
        assert again.address == first.address
    finally:
        stopped = server.stop()
    assert stopped.pid == first.pid
    assert not _pid_is_temporal(first.pid)
    assert server.read_record() is None
    assert server.running() is None


def test_server_binds_loopback_only(tmp_path: Path) -> None:
    server = EmbeddedServer(make_settings(tmp_path / "home"))
    record = server.ensure_started()
    try:
        assert record.address.startswith("127.0.0.1:")
        cmdline = Path(f"/proc/{record.pid}/cmdline").read_bytes().split(b"\0")
        assert cmdline[cmdline.index(b"--ip") + 1] == b"127.0.0.1"
        assert b"journal_mode=wal" in cmdline
    finally:
        server.stop()
    assert os.path.exists(record.log_path)
