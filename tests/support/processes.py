"""Test helpers that run real processes: a `durable-research worker` subprocess, a private dev server."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

from temporalio.client import Client

from orchestration.artifacts import LocalArtifactStore
from orchestration.client import ResearchClient
from orchestration.payloads.converter import data_converter
from orchestration.server import EmbeddedServer
from orchestration.settings import OrchestrationSettings
from orchestration.shared import Tuning
from tests.conftest import make_settings

ROOT = Path(__file__).parents[2]


def worker_env(address: str, home: Path, prefix: str, *, clean: bool = False, **extra: str) -> dict[str, str]:
    """A worker's environment: the server, a state folder, a queue prefix, local memory, then `extra`.

    Args:
        clean: drop the caller's own TEMPORAL_* and DURABLE_* variables first.
    """
    base = dict(os.environ)
    if clean:
        base = {k: v for k, v in base.items() if not k.startswith(("TEMPORAL_", "DURABLE_"))}
    return base | {
        "TEMPORAL_ADDRESS": address,
        "DURABLE_RESEARCH_HOME": str(home),
        "DURABLE_RESEARCH_TASK_QUEUE_PREFIX": prefix,
        "DURABLE_RESEARCH_MEMORY_MODE": "local",
        **extra,
    }


def process_client(temporal_client: Client, home: Path, prefix: str, **tuning: float) -> ResearchClient:
    """A client for jobs that worker processes with `prefix` serve: a dead worker is noticed in 2 s."""
    queues = OrchestrationSettings(task_queue_prefix=prefix).task_queues()
    tuned = Tuning(**{"heartbeat_timeout_s": 2.0, "retry_initial_s": 0.2, **tuning})  # type: ignore[arg-type]
    return ResearchClient(
        temporal_client, queues=queues, tuning=tuned, artifacts=LocalArtifactStore(home / "artifacts")
    )


@contextlib.contextmanager
def worker_process(
    env: dict[str, str], *, log: Path | None = None, args: list[str] | None = None
) -> Iterator[subprocess.Popen[str]]:
    """`durable-research worker [args]` with `env`, once it says it is ready; SIGTERMed (drained) on exit.

    A stopped (SIGSTOPped) worker is woken first: it cannot act on SIGTERM otherwise.
    """
    with contextlib.ExitStack() as stack:
        err = stack.enter_context(log.open("a", encoding="utf-8")) if log is not None else None
        proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "durable-research"), "worker", *(args or [])],
            env=env, stdout=subprocess.PIPE, stderr=err, text=True, cwd=ROOT,
        )  # fmt: skip
    try:
        assert proc.stdout is not None and proc.stdout.readline().startswith("worker ready")
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGCONT)
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
        proc.stdout.close()  # type: ignore[union-attr]


@contextlib.asynccontextmanager
async def low_limit_client(folder: Path, suggest_continue_as_new: int) -> AsyncIterator[Client]:
    """A private dev server that suggests continue-as-new after `suggest_continue_as_new` events."""
    settings = make_settings(
        folder, dynamic_config={"limit.historyCount.suggestContinueAsNew": str(suggest_continue_as_new)}
    )
    server = EmbeddedServer(settings)
    record = server.ensure_started()
    try:
        yield await Client.connect(record.address, data_converter=data_converter(settings))
    finally:
        server.stop()
