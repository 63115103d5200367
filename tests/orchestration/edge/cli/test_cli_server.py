"""`durable-research server start|status|stop` and `doctor` as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

CLI = str(Path(sys.executable).parent / "durable-research")


def _run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "DURABLE_"))}
    env |= {
        "DURABLE_RESEARCH_HOME": str(home),
        "DURABLE_RESEARCH_TEMPORAL_PORT": "0",
        "DURABLE_RESEARCH_UI_PORT": "0",
    }
    return subprocess.run([CLI, *args], env=env, capture_output=True, text=True, timeout=120)


def test_cli_lifecycle_and_doctor(tmp_path: Path) -> None:
    home = tmp_path / "state"
    assert _run(home, "server", "status").returncode == 1

    doctor = _run(home, "doctor", "--json")
    assert doctor.returncode == 1, "doctor must fail while the server is down"
    checks = {c["name"]: c for c in json.loads(doctor.stdout)}
    assert not checks["temporal server"]["ok"]
    assert checks["temporal binary"]["ok"]

    started = _run(home, "server", "start", "--json")
    assert started.returncode == 0, started.stderr
    info = json.loads(started.stdout)
    try:
        assert info["reused"] is False
        reused = json.loads(_run(home, "server", "start", "--json").stdout)
        assert reused["reused"] is True and reused["pid"] == info["pid"]

        doctor = _run(home, "doctor")
        assert doctor.returncode == 0, doctor.stdout + doctor.stderr
        assert "embeddings" in doctor.stdout and "lexical index" in doctor.stdout
        assert json.loads(_run(home, "server", "status", "--json").stdout)["running"] is True
    finally:
        stopped = _run(home, "server", "stop")
    assert stopped.returncode == 0, stopped.stderr
    again = _run(home, "server", "stop")
    assert again.returncode == 1
    assert "nothing to stop" in again.stderr


def test_external_cluster_starts_nothing(tmp_path: Path) -> None:
    env_home = tmp_path / "state"
    out = subprocess.run(
        [CLI, "server", "start"],
        env=os.environ | {"DURABLE_RESEARCH_HOME": str(env_home), "TEMPORAL_ADDRESS": "x:7233"},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode == 0
    assert "nothing is started" in out.stdout
    assert not (env_home / "temporal-server.json").exists()
