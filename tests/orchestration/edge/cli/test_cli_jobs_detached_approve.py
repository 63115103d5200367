"""`run --detach` with a custom graph, a `worker --graphs` process, `status`, `approve`, `result`."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from tests.support.cli_jobs import (
    CORPUS,
    QUESTION,
    cli,
    cli_json,
    stop_server,
    wait_for,
    worker_process,
)

QUOTER = "tests.support.cli_jobs:QUOTER"


@pytest.mark.slow
def test_detached_job_is_run_by_a_worker_and_approved(tmp_path: Path) -> None:
    home = tmp_path / "state"
    try:
        started = cli_json(
            home, "run", QUESTION, "--corpus", CORPUS, "--approve", "wait", "--detach",
            "--graphs", QUOTER, "--graph", "research=quoter@1",
        )  # fmt: skip
        job = started["job_id"]
        with worker_process(home, "--graphs", QUOTER) as worker:
            waiting = wait_for(
                lambda: (s := cli_json(home, "status", job))["phase"] == "awaiting_approval" and s,
                what="the approval wait",
            )
            assert waiting["report"] is not None and waiting["approval"] == "pending"
            approved = cli_json(home, "approve", job, "--by", "tester", "--notes", "ok")
            assert approved["job_id"] == job
            result = cli(home, "result", job, "--json")
            again = cli(home, "approve", job)
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=60)
    finally:
        stop_server(home)
    assert result.returncode == 0, result.stderr
    final = json.loads(result.stdout)
    assert final["status"] == "completed"
    assert {t["graph"] for t in final["subtasks"]} == {"quoter@1"}
    assert all(t["result"]["summary"].startswith("QUOTER: ") for t in final["subtasks"])
    assert Path(final["report_path"]).exists()
    assert again.returncode == 1, "approving a finished job must be refused"
    assert "already ended" in again.stderr and "Traceback" not in again.stderr
