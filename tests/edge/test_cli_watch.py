"""`durable-research watch`: a job's events through the real CLI, live until the job ends,
resumed with --from, and an offset past the end refused in one line with exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.orchestration.cli_jobs import CORPUS, QUESTION, cli, cli_json, stop_server, worker_process

pytestmark = pytest.mark.slow


def _lines(out: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_watch_streams_resumes_and_refuses_bad_offsets(tmp_path: Path) -> None:
    home = tmp_path / "state"
    try:
        cli_json(home, "run", QUESTION, "--corpus", CORPUS, "--model", "fake", "--job-id", "watched", "--detach")
        with worker_process(home):
            # Started while the job runs: it follows the job live and ends with it.
            live = cli(home, "watch", "watched", "--json")  # returns once the job has ended
            assert live.returncode == 0, live.stderr
            events = _lines(live.stdout)
            middle = len(events) // 2
            resumed = cli(home, "watch", "watched", "--from", str(middle), "--json")
            text = cli(home, "watch", "watched", "--from", str(len(events) - 3))
            past_end = cli(home, "watch", "watched", "--from", str(len(events) + 1))
    finally:
        stop_server(home)

    assert [e["offset"] for e in events] == list(range(len(events)))
    phases = [e["phase"] for e in events if e["kind"] == "phase"]
    assert phases[0] == "ingesting" and phases[-1] == "completed"
    assert {"subtask_started", "node_finished", "model_call"} <= {e["kind"] for e in events}
    assert all(e["counted"] for e in events)

    assert resumed.returncode == 0 and _lines(resumed.stdout) == events[middle:], "--from must resume exactly there"

    assert text.returncode == 0, text.stderr
    shown = text.stdout.splitlines()
    assert [int(line.split()[0]) for line in shown[:3]] == [len(events) - 3, len(events) - 2, len(events) - 1]
    assert "phase -> completed" in shown[2]
    assert shown[-1] == f"job watched ended; next offset {len(events)}"

    # An unknown job is in the bad-input battery; an offset past the end needs a real job.
    assert past_end.returncode == 2, past_end.stderr
    assert "Traceback" not in past_end.stderr and past_end.stdout == ""
    errors = [line for line in past_end.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "beyond the end" in errors[0], past_end.stderr
