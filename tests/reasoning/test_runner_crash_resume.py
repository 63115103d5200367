"""A real crash: SIGKILL a process mid-graph; resume continues, restart starts over."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from reasoning import read_call_log

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


class _Child:
    def __init__(self, tmp: Path, name: str, mode: str, thread: str) -> None:
        self.log, self.events = tmp / f"{name}.calls.jsonl", tmp / f"{name}.events.jsonl"
        self.out = tmp / f"{name}.out.json"
        self.args = [
            sys.executable,
            "-m",
            "tests.reasoning._crash_child",
            mode,
            thread,
            str(tmp / "checkpoints.sqlite"),
            str(self.log),
            str(self.events),
            str(self.out),
        ]

    def start(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(self.args, cwd=ROOT, stderr=subprocess.PIPE)

    def run(self) -> dict:
        proc = self.start()
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
        return json.loads(self.out.read_text())

    def finished_nodes(self) -> list[str]:
        if not self.events.exists():
            return []
        return [json.loads(line)["node"] for line in self.events.read_text().splitlines()]

    def kill_after(self, node: str) -> list[str]:
        """Start, SIGKILL as soon as `node` is reported finished; return the finished nodes."""
        proc = self.start()
        deadline = time.monotonic() + 90
        while node not in self.finished_nodes():
            assert proc.poll() is None, "child ended before it could be killed"
            assert time.monotonic() < deadline, "child never finished " + node
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        assert not self.out.exists()
        return self.finished_nodes()


def _calls_by_node(log: Path) -> Counter[str]:
    return Counter(entry["node"] for entry in read_call_log(log))


def test_resume_after_sigkill_skips_finished_nodes(tmp_path: Path) -> None:
    baseline = _Child(tmp_path, "baseline", "resume", "thread-baseline").run()
    base_calls = _calls_by_node(tmp_path / "baseline.calls.jsonl")

    child = _Child(tmp_path, "crash", "resume", "thread-crash")
    before_kill = child.kill_after("read")
    assert before_kill[:2] == ["retrieve", "read"] and "finalize" not in before_kill
    child.events.unlink()
    resumed = child.run()

    assert resumed["resumed"] is True
    assert resumed["output"] == baseline["output"]
    assert resumed["nodes_run"] == baseline["nodes_run"][len(before_kill) :]
    calls = _calls_by_node(child.log)
    for node in before_kill:  # finished before the kill: never asked again
        assert calls[node] == base_calls[node], node
    assert sum(calls.values()) <= sum(base_calls.values()) + 1  # at most the in-flight call


def test_restart_after_sigkill_runs_from_the_first_node(tmp_path: Path) -> None:
    """Restart re-runs every node, but a call that finished before the kill comes from the call log."""
    baseline = _Child(tmp_path, "baseline", "restart", "thread-baseline").run()
    child = _Child(tmp_path, "crash", "restart", "thread-crash")
    child.kill_after("read")
    child.events.unlink()
    restarted = child.run()

    assert restarted["resumed"] is False
    assert restarted["nodes_run"] == baseline["nodes_run"]
    assert restarted["output"] == baseline["output"]
    assert _calls_by_node(child.log)["read"] == 1  # its node re-ran; its call was not paid again
