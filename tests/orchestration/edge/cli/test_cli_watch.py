"""`durable-research watch`: a job's events through the real CLI, live until the job ends,
resumed with --from, and an offset past the end refused in one line with exit code 2."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli_jobs import CORPUS, QUESTION, cli, cli_json, stop_server, worker_process

pytestmark = pytest.mark.slow


def _lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def _events_and_tally(out: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """`watch --json` output: event lines, then one closing tally line."""
    *events, last = _lines(out)
    assert set(last) == {"tally"}, last
    return events, last["tally"]


def test_watch_streams_resumes_and_refuses_bad_offsets(tmp_path: Path) -> None:
    home = tmp_path / "state"
    try:
        cli_json(home, "run", QUESTION, "--corpus", CORPUS, "--model", "fake", "--job-id", "watched", "--detach")
        with worker_process(home):
            # Started while the job runs: it follows the job live and ends with it.
            live = cli(home, "watch", "watched", "--json")  # returns once the job has ended
            assert live.returncode == 0, live.stderr
            events, tally = _events_and_tally(live.stdout)
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

    assert resumed.returncode == 0
    resumed_events, resumed_tally = _events_and_tally(resumed.stdout)
    assert resumed_events == events[middle:], "--from must resume exactly there"

    # The closing tally adds up the events it followed.
    kinds = Counter(str(e["kind"]) for e in events)
    calls = [e for e in events if e["kind"] == "model_call"]
    assert tally == {
        "events": len(events), "kinds": dict(sorted(kinds.items())),
        "nodes": kinds["node_finished"], "model_calls": len(calls),
        "tokens_in": sum(e["tokens_in"] for e in calls), "tokens_out": sum(e["tokens_out"] for e in calls),
        "replayed_calls": 0, "tool_calls": 0,
        "retries": 0, "resumed": 0, "ignored": 0, "status": "completed", "next_offset": len(events),
    }  # fmt: skip
    assert resumed_tally["events"] == len(events) - middle and resumed_tally["status"] == "completed"

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
