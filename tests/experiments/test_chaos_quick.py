"""The chaos benchmark's quick profile, end to end: real `durable-research worker` processes and
the embedded server under seeded SIGKILLs and a SIGSTOP pause, run as an operator runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(400)]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    out = tmp_path_factory.mktemp("chaos-results")
    done = subprocess.run(
        [sys.executable, "-m", "experiments.benchmarks.chaos", "--profile", "quick", "--seed", "3", "--out", str(out)],
        capture_output=True, text=True, timeout=380, cwd=ROOT,
    )  # fmt: skip
    results = json.loads((out / "chaos-quick.json").read_text())
    return done, results


def test_prints_one_summary_line_and_passes(quick: tuple[subprocess.CompletedProcess[str], dict[str, Any]]) -> None:
    done, results = quick
    assert done.stdout.strip() == results["summary"], done.stderr[-3000:]
    assert done.returncode == 0, results["summary"]
    assert results["passed"]


def test_every_planned_fault_fired(quick: tuple[subprocess.CompletedProcess[str], dict[str, Any]]) -> None:
    _, results = quick
    faults = results["faults"]
    assert faults["total"] == faults["planned"] == 4
    assert faults["server_kills"] >= 1 and faults["worker_kills"] >= 1 and faults["pauses"] >= 1
    for fault in results["fault_log"]:
        if fault["kind"] == "pause_worker":
            assert fault["pause_s"] > results["config"]["heartbeat_timeout_s"]


def test_jobs_complete_with_reference_reports_and_no_duplicates(
    quick: tuple[subprocess.CompletedProcess[str], dict[str, Any]],
) -> None:
    _, results = quick
    jobs = results["jobs"]
    assert jobs["jobs"] >= 3
    assert jobs["completed"] == jobs["identical_reports"] == jobs["jobs"], jobs
    assert all(c["duplicates"] == 0 for c in results["memory"].values()), results["memory"]
    assert results["memory"]["research-reports"]["documents"] > 0
    assert results["artifacts"]["duplicates"] == 0 and results["artifacts"]["missing"] == 0
    assert results["notifications"]["duplicates"] == 0 and results["notifications"]["missing"] == 0


def test_linear_checkpoint_chains_and_fast_server_restarts(
    quick: tuple[subprocess.CompletedProcess[str], dict[str, Any]],
) -> None:
    _, results = quick
    assert results["checkpoints"]["threads"] > 0, "resume-mode jobs should have written checkpoints"
    assert results["checkpoints"]["forked_threads"] == 0
    assert results["checkpoints"]["rerun_from_input"] == 0
    assert results["server_restart_s"]["max"] < 5.0
    assert results["server_restart_s"]["refused_starts"] == 0


@pytest.mark.parametrize("argv", [["--kills", "-3"], ["--jobs", "0"], ["--profile", "huge"], ["--seed", "x"]])
def test_bad_arguments_give_one_line(argv: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "experiments.benchmarks.chaos", *argv],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: "), done.stderr
    assert "Traceback" not in done.stderr
