"""SIGTERM makes `durable-research worker` drain: the in-flight subtask finishes, then it exits 0."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from orchestration.client import ResearchClient
from orchestration.edge.notebook import job_timeline
from orchestration.settings import OrchestrationSettings
from tests.support.cli_jobs import (
    CORPUS,
    QUESTION,
    cli_json,
    stop_server,
    wait_for,
    worker_process,
)

SLOW = {"DURABLE_RESEARCH_MODEL_FAKE_LATENCY_S": "2.0", "DURABLE_RESEARCH_WORKER_GRACEFUL_SHUTDOWN_S": "60"}


@pytest.mark.slow
async def test_sigterm_drains_the_worker(tmp_path: Path) -> None:
    home = tmp_path / "state"
    job = cli_json(home, "run", QUESTION, "--corpus", CORPUS, "--model", "fake", "--detach")["job_id"]
    try:
        with worker_process(home, **SLOW) as worker:
            wait_for(lambda: cli_json(home, "status", job)["running"] > 0, what="a running subtask")
            worker.send_signal(signal.SIGTERM)
            out, err = worker.communicate(timeout=90)
        settings = OrchestrationSettings(home=home, temporal_port=0, ui_port=0)
        spans = await job_timeline((await ResearchClient.connect(settings)).attach(job))
    finally:
        stop_server(home)
    assert worker.returncode == 0, err
    assert "drained" in out
    subtasks = [s for s in spans if s.category == "subtask" and s.started is not None]
    assert subtasks, "no subtask had started before SIGTERM"
    assert all(s.outcome == "completed" for s in subtasks), [s.model_dump() for s in subtasks]
