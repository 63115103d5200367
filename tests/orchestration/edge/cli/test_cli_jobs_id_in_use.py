"""Starting a job under an id that is already running says how to attach to it."""

from __future__ import annotations

from pathlib import Path

from tests.support.cli_jobs import CORPUS, QUESTION, cli, cli_json, stop_server


def test_job_id_in_use_gets_the_attach_command(tmp_path: Path) -> None:
    home = tmp_path / "state"
    args = ("run", QUESTION, "--corpus", CORPUS, "--job-id", "dup-job", "--detach")
    try:
        first = cli_json(home, *args)
        second = cli(home, *args)
        listed = cli_json(home, "jobs")
    finally:
        stop_server(home)
    assert first["job_id"] == "dup-job"
    assert second.returncode == 2
    assert "already in use" in second.stderr
    assert "durable-research status dup-job" in second.stderr
    assert "Traceback" not in second.stderr
    assert [j["job_id"] for j in listed] == ["dup-job"]
