"""Test helpers for traces: the process's tracer provider captured in memory, and a real Arize Phoenix.

OpenTelemetry takes one global tracer provider per process, so every test that reads spans
shares one (replay-safe, as Temporal's plugin requires): `captured_spans()` collects what is
exported while it is open and drops the rest. `running_phoenix()` serves Phoenix from its own
virtualenv through `scripts/phoenix.sh`, which builds `.venv-phoenix` first when it is missing
(about a minute on a fresh machine; reused afterwards).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio.contrib.opentelemetry import ReplaySafeTracerProvider, create_tracer_provider

from orchestration.telemetry.tracing import Tracing, resource

ROOT = Path(__file__).resolve().parents[2]
PHOENIX_SCRIPT = ROOT / "scripts" / "phoenix.sh"
PHOENIX_INSTALL_S = 900  # a fresh machine downloads ~280 packages
PHOENIX_START_S = 90


class _Capture(SpanExporter):
    """Forwards spans to the open capture, if any."""

    def __init__(self) -> None:
        self.memory: InMemorySpanExporter | None = None
        self.lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        with self.lock:
            if self.memory is not None:
                self.memory.export(spans)
        return SpanExportResult.SUCCESS


_capture = _Capture()
_provider: list[ReplaySafeTracerProvider] = []


def process_tracing(*, content: bool = False) -> Tracing:
    """The process's tracing, its provider installed once; `plugins()` for a traced client."""
    if not _provider:
        provider = create_tracer_provider(resource=resource())
        provider.add_span_processor(SimpleSpanProcessor(_capture))
        Tracing(provider)
        _provider.append(provider)
    assert trace.get_tracer_provider() is _provider[0], "another test set the global tracer provider first"
    return Tracing(_provider[0], content=content)


@contextlib.contextmanager
def captured_spans() -> Iterator[InMemorySpanExporter]:
    """The spans exported while the block runs (the provider exports each span as it ends)."""
    process_tracing()
    memory = InMemorySpanExporter()
    with _capture.lock:
        _capture.memory = memory
    try:
        yield memory
    finally:
        with _capture.lock:
            _capture.memory = None


def attributes_text(spans: Sequence[ReadableSpan]) -> str:
    """Every span's name, attributes and events as one text, to search for what must not be there."""
    return json.dumps(
        [[s.name, dict(s.attributes or {}), [dict(e.attributes or {}) for e in s.events]] for s in spans], default=str
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Phoenix:
    """A running Phoenix: its UI and REST API at `url`, OTLP/gRPC at `otlp`."""

    url: str
    otlp: str
    log: Path

    def get(self, path: str, **params: Any) -> Any:
        """GET a REST path (``/v1/...``) as JSON; None for 404."""
        query = urllib.parse.urlencode(params, doseq=True)
        try:
            with urllib.request.urlopen(f"{self.url}{path}{'?' + query if query else ''}", timeout=10) as response:
                return json.load(response)
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            raise

    def session(self, session_id: str) -> dict[str, Any] | None:
        """The session (a job's traces and tokens) named `session_id`, or None."""
        found = self.get(f"/v1/sessions/{urllib.parse.quote(session_id, safe='')}")
        return None if found is None else dict(found["data"])

    def spans(self, project: str, trace_id: str) -> list[dict[str, Any]]:
        """Every span of one trace, as Phoenix stored them (attributes flattened to dotted keys)."""
        spans: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"trace_id": trace_id, "limit": 1000}
            if cursor:
                params["cursor"] = cursor
            page = self.get(f"/v1/projects/{project}/spans", **params)
            spans += page["data"]
            cursor = page.get("next_cursor")
            if not cursor:
                return spans


def install_phoenix() -> float:
    """Build `.venv-phoenix` if missing (scripts/phoenix.sh install); the seconds it took."""
    started = time.monotonic()
    done = subprocess.run(
        [str(PHOENIX_SCRIPT), "install"], cwd=ROOT, capture_output=True, text=True, timeout=PHOENIX_INSTALL_S
    )
    assert done.returncode == 0, f"scripts/phoenix.sh install failed:\n{done.stderr[-3000:]}"
    return time.monotonic() - started


@contextlib.contextmanager
def running_phoenix(folder: Path) -> Iterator[Phoenix]:
    """Phoenix on free loopback ports with its data in `folder`; stopped when the block ends."""
    install_phoenix()
    folder.mkdir(parents=True, exist_ok=True)
    port, grpc = free_port(), free_port()
    log = folder / "phoenix.log"
    env = os.environ | {"PHOENIX_PORT": str(port), "PHOENIX_GRPC_PORT": str(grpc), "PHOENIX_WORKING_DIR": str(folder)}
    with log.open("w") as out:
        proc = subprocess.Popen([str(PHOENIX_SCRIPT), "serve"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    phoenix = Phoenix(f"http://127.0.0.1:{port}", f"http://127.0.0.1:{grpc}", log)
    try:
        _wait_healthy(phoenix, proc)
        yield phoenix
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _wait_healthy(phoenix: Phoenix, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + PHOENIX_START_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            with urllib.request.urlopen(f"{phoenix.url}/healthz", timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    tail = phoenix.log.read_text(errors="replace")[-3000:]
    raise AssertionError(f"Phoenix did not come up on {phoenix.url} (exit {proc.poll()}):\n{tail}")
