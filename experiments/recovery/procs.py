"""Child processes of the controller: the model stub, standbys of the local arms, workers."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from experiments.recovery.errors import StubStartError


class Child:
    """A Python child process that prints READY (or ``PORT n``) when it can work."""

    def __init__(
        self, args: list[str], log_path: Path, stdin: bool = False, env: Mapping[str, str] | None = None
    ) -> None:
        """Start ``python *args``; `env` is its whole environment (None: this process's)."""
        self._log = log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, *args],
            env=dict(env) if env is not None else None,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
        )
        self.ready_line: str | None = None

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait_ready(self) -> str:
        """Block until the first stdout line (READY / PORT n); raise if the child died."""
        if self.ready_line is None:
            assert self.proc.stdout is not None
            self.ready_line = self.proc.stdout.readline().strip()
            if not self.ready_line:
                code = self.proc.wait()
                raise StubStartError(f"{self.proc.args} exited with {code} before it was ready; see {self._log.name}")
        return self.ready_line

    def alive(self) -> bool:
        return self.proc.poll() is None

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def stop(self) -> None:
        """Kill (our own child, by pid) and reap; close pipes so nothing warns."""
        if self.proc.poll() is None:
            self.proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        self._log.close()


def start_stub(work: Path, latency_ms: float, events: str) -> tuple[Child, int]:
    """Start the model stub; returns it and its port."""
    child = Child(
        [
            "-m", "experiments.recovery.stub",
            "--port", "0",
            "--latency-ms", str(latency_ms),
            "--log", str(work / "stub-calls.jsonl"),
            "--events", events,
        ],
        work / "stub.log",
    )  # fmt: skip
    line = child.wait_ready()
    if not line.startswith("PORT "):
        child.stop()
        raise StubStartError(f"the stub printed {line!r} instead of its port")
    return child, int(line.split()[1])
