"""A metrics port out of range or in use is one warning, and the worker still serves its queues."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from orchestration.telemetry.runtime import prometheus_runtime
from tests.support.cli_jobs import stop_server, worker_process


@pytest.mark.parametrize("port", [0, 70000, -1])
def test_out_of_range_port_warns_and_gives_no_runtime(port: int) -> None:
    warnings: list[str] = []
    assert prometheus_runtime(port, "127.0.0.1", warn=warnings.append) is None
    assert len(warnings) == 1 and "out of range" in warnings[0] and "without a metrics endpoint" in warnings[0]


def test_worker_with_a_busy_metrics_port_still_serves(tmp_path: Path) -> None:
    home = tmp_path / "state"
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        try:
            with worker_process(home, "--metrics-port", str(port)) as worker:  # asserts "worker ready"
                worker.terminate()
                _, stderr = worker.communicate(timeout=60)
        finally:
            stop_server(home)
    assert f"metrics port {port} on 127.0.0.1 is in use" in stderr
    assert "Traceback" not in stderr
