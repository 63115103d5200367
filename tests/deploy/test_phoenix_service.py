"""docker-compose's Phoenix runs the version scripts/phoenix.sh installs, on loopback ports, and every worker
exports its traces to it (no Docker engine here: the files are parsed; a real Phoenix receiving a real
job's trace is tests/orchestration/telemetry/test_phoenix_trace.py)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = ROOT / "deploy" / "phoenix" / "requirements.txt"


def _pin() -> str:
    pins = [line for line in REQUIREMENTS.read_text().splitlines() if line.strip() and not line.startswith("#")]
    assert len(pins) == 1, pins
    found = re.fullmatch(r"arize-phoenix==(\d+\.\d+\.\d+)", pins[0].strip())
    assert found, f"{REQUIREMENTS} must pin one exact arize-phoenix version: {pins[0]}"
    return found.group(1)


def test_compose_phoenix_runs_the_pinned_version_on_loopback() -> None:
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    phoenix = services["phoenix"]
    assert phoenix["image"] == f"arizephoenix/phoenix:version-{_pin()}"
    assert set(phoenix["ports"]) == {"127.0.0.1:6006:6006", "127.0.0.1:4317:4317"}  # UI and API, OTLP/gRPC
    working_dir = phoenix["environment"]["PHOENIX_WORKING_DIR"]
    assert any(v.endswith(f":{working_dir}") for v in phoenix["volumes"]), "traces must outlive the container"


def test_every_worker_exports_its_traces_to_phoenix() -> None:
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    workers = {name: s for name, s in services.items() if "worker" in s.get("command", [])}
    assert workers
    for name, worker in workers.items():
        assert worker["environment"]["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://phoenix:4317", name
        assert "phoenix" not in worker.get("depends_on", []), f"{name}: a worker must not wait for its tracing"


def test_the_script_installs_from_the_pinned_requirements() -> None:
    script = ROOT / "scripts" / "phoenix.sh"
    assert os.access(script, os.X_OK)
    text = script.read_text()
    assert "deploy/phoenix/requirements.txt" in text and "PHOENIX_HOST=127.0.0.1" in text
    assert ".venv-phoenix" in (ROOT / ".gitignore").read_text()
