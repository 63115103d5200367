"""A stopped process holding a checkpoint write transaction stalls only its own job.

A real child process takes job A's SQLite write lock and SIGSTOPs itself, as a worker
paused between LangGraph's INSERT and COMMIT does. Job B's resume-mode graph, which
checkpoints every step, runs meanwhile: with one database per job it neither fails nor
waits; with one shared file (the old layout) it fails after the busy timeout with a
typed, retryable error. Job A's own new attempt waits for the lock (it must, to keep the
chain linear) and gets through once the zombie continues.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from reasoning import (
    CheckpointBusyError,
    CheckpointConfig,
    FakeChatModel,
    GraphContext,
    ResearchInput,
    Subtask,
    default_registry,
    run_graph,
)
from tests.reasoning.corpus import KeywordRetriever

ROOT = Path(__file__).resolve().parents[2]
INPUT = ResearchInput(subtask=Subtask(id="s1", kind="research", question="Why does SQLite allow one writer?"))
JOB_A, JOB_B = "job-a/run-1/subtask/s1/r1", "job-b/run-1/subtask/s1/r1"


def _run(thread: str, checkpoint: CheckpointConfig, attempt: int = 1) -> float:
    ctx = GraphContext(retriever=KeywordRetriever(), model=FakeChatModel())
    spec = default_registry.get("researcher@1")
    started = time.monotonic()
    run_graph(spec, INPUT, context=ctx, mode="resume", thread_id=thread, checkpoint=checkpoint, attempt=attempt)
    return time.monotonic() - started


@contextmanager
def _zombie_holding(db: Path) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.reasoning._lock_holder", str(db)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "holding"
        deadline = time.monotonic() + 10
        while _state(proc.pid) != "T":  # wait until it is really stopped
            assert time.monotonic() < deadline, "the lock holder never stopped"
            time.sleep(0.01)
        yield proc
    finally:
        proc.send_signal(signal.SIGCONT)
        proc.wait(timeout=30)
        proc.stdout.close()  # type: ignore[union-attr]


def _state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def test_a_paused_writer_stalls_only_its_own_job(tmp_path: Path) -> None:
    checkpoint = CheckpointConfig(sqlite_dir=tmp_path / "cp", busy_timeout_s=2.0)
    _run(JOB_A, checkpoint)  # job A's database exists, with a finished thread
    unobstructed = _run("job-c/run-1/subtask/s1/r1", checkpoint)

    with _zombie_holding(checkpoint.sqlite_file(JOB_A)) as zombie:
        elapsed = _run(JOB_B, checkpoint)  # every step of B checkpoints while A's lock is held
        with pytest.raises(CheckpointBusyError, match="claiming thread"):
            _run(JOB_A, checkpoint, attempt=2)  # A's new attempt must wait for A's zombie
        assert zombie.poll() is None
    assert elapsed < unobstructed + 1.5, f"job B stalled: {elapsed:.2f} s vs {unobstructed:.2f} s unobstructed"
    _run(JOB_A, checkpoint, attempt=2)  # the lock is free again


def test_a_shared_file_fails_other_jobs_after_the_busy_timeout(tmp_path: Path) -> None:
    """The trade-off the per-job layout avoids: a clear, retryable error after the busy timeout."""
    checkpoint = CheckpointConfig(sqlite_path=tmp_path / "shared.sqlite", busy_timeout_s=1.0)
    _run(JOB_A, checkpoint)

    with _zombie_holding(checkpoint.sqlite_file(JOB_A)):
        started = time.monotonic()
        with pytest.raises(CheckpointBusyError, match="locked"):
            _run(JOB_B, checkpoint)
        waited = time.monotonic() - started
    assert 1.0 <= waited < 10, f"the busy timeout was not applied: waited {waited:.2f} s"
