"""A `durable-research worker` started while the server is down waits for it (retrying with
a clear log line) and comes up once the server is back, instead of dying with a traceback."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from orchestration.server import EmbeddedServer, _free_port
from tests.conftest import make_settings

pytestmark = pytest.mark.slow


def _readline(proc: subprocess.Popen[str], timeout_s: float) -> str:
    assert proc.stdout is not None
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    ready = sel.select(timeout_s)
    sel.close()
    return proc.stdout.readline() if ready else ""


def test_worker_started_before_the_server(tmp_path: Path) -> None:
    port = _free_port()
    env = os.environ | {
        "TEMPORAL_ADDRESS": f"127.0.0.1:{port}",
        "DURABLE_RESEARCH_HOME": str(tmp_path / "worker-home"),
        "DURABLE_RESEARCH_MEMORY_MODE": "memory",
        "DURABLE_RESEARCH_WORKER_CONNECT_BACKOFF_MAX_S": "1",
    }
    stderr = (tmp_path / "worker.err").open("w")
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "durable-research"), "worker"],
        env=env, stdout=subprocess.PIPE, stderr=stderr, text=True,
    )  # fmt: skip
    server = EmbeddedServer(make_settings(tmp_path / "server-home", temporal_port=port))
    try:
        expected = f"cannot reach the Temporal server at 127.0.0.1:{port}"
        deadline = time.monotonic() + 60  # imports take seconds on a loaded machine
        while (tmp_path / "worker.err").read_text().count(expected) < 3 and time.monotonic() < deadline:
            assert proc.poll() is None, f"the worker died: {(tmp_path / 'worker.err').read_text()}"
            time.sleep(0.2)
        log = (tmp_path / "worker.err").read_text()
        assert log.count(expected) >= 3, log  # several attempts, each with one line
        assert "retrying in" in log and "Traceback" not in log
        assert proc.poll() is None

        server.ensure_started()
        line = _readline(proc, timeout_s=20)
        assert line.startswith("worker ready"), line
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        assert proc.stdout is not None
        proc.stdout.close()
        stderr.close()
        if server.running() is not None:
            server.stop()


def test_worker_gives_up_with_one_clear_line(tmp_path: Path) -> None:
    port = _free_port()
    env = os.environ | {
        "TEMPORAL_ADDRESS": f"127.0.0.1:{port}",
        "DURABLE_RESEARCH_HOME": str(tmp_path),
        "DURABLE_RESEARCH_MEMORY_MODE": "memory",
        "DURABLE_RESEARCH_WORKER_CONNECT_RETRY_S": "2",
    }
    done = subprocess.run(
        [str(Path(sys.executable).parent / "durable-research"), "worker"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode != 0
    assert "Traceback" not in done.stderr + done.stdout
    assert f"Could not reach the Temporal server at 127.0.0.1:{port} within 2 s" in done.stderr + done.stdout
