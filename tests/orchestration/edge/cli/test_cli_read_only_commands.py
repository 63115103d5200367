"""Commands that only look never start a server, and cancel of an ended job says it ended."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli_jobs import CORPUS, QUESTION, cli, cli_json, stop_server, wait_for, worker_process

pytestmark = pytest.mark.slow


def test_status_in_a_fresh_folder_starts_no_server(tmp_path: Path) -> None:
    home = tmp_path / "fresh"
    out = cli(home, "status", "no-such-job")
    assert out.returncode == 1
    assert "no Temporal server is running" in out.stderr and "Traceback" not in out.stderr
    assert cli(home, "server", "status").returncode == 1, "a read-only command left a server running"


def test_cancel_of_an_ended_job_is_refused(tmp_path: Path) -> None:
    home = tmp_path / "state"
    try:
        started = cli_json(home, "run", QUESTION, "--corpus", CORPUS, "--job-id", "ends-fast", "--detach")
        assert started["job_id"] == "ends-fast"
        with worker_process(home):
            wait_for(lambda: cli_json(home, "status", "ends-fast").get("closed"), timeout_s=120, what="the job to end")
        again = cli(home, "cancel", "ends-fast")
    finally:
        stop_server(home)
    assert again.returncode == 1
    assert "already ended" in again.stderr and "Traceback" not in again.stderr
