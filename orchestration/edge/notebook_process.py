"""A worker in its own process, and a folder served over HTTP, for notebooks that show a crash.

The in-kernel worker (`Notebook.start_worker`) cannot be killed without killing the kernel; a
`WorkerProcess` is the real `durable-research worker` command on the notebook's state folder and
task queues, so a cell can SIGKILL it mid-job and start another, as a crashed host would be
replaced. `FolderServer` gives a tool-using graph a small local "web" to fetch from.
"""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from orchestration.settings import OrchestrationSettings

_CLI = str(Path(sys.executable).parent / "durable-research")


class WorkerProcess:
    """`durable-research worker` for a notebook's state folder, with extra environment settings.

    Args:
        settings: the notebook's settings (`Notebook.settings`): its state folder and server.
        env: more `DURABLE_RESEARCH_*` settings for this worker (model latency, tool permissions).
        args: more command-line arguments (``["--tools", "module:attr"]``).
    """

    def __init__(
        self, settings: OrchestrationSettings, env: dict[str, str] | None = None, args: list[str] | None = None
    ):
        base = {k: v for k, v in os.environ.items() if not k.startswith("DURABLE_RESEARCH_HOME")}
        self._env = base | {"DURABLE_RESEARCH_HOME": str(settings.home.expanduser().resolve()), **(env or {})}
        if settings.task_queue_prefix:
            self._env["DURABLE_RESEARCH_TASK_QUEUE_PREFIX"] = settings.task_queue_prefix
        self._args = args or []
        self.proc: subprocess.Popen[str] | None = None

    def start(self, timeout_s: float = 60) -> WorkerProcess:
        """Start it and return once it polls its task queues."""
        self.proc = subprocess.Popen(
            [_CLI, "worker", *self._args], env=self._env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # "worker ready: ..." once it polls
        if not line.startswith("worker ready"):
            self.kill()
            raise RuntimeError(f"the worker did not start: {line.strip() or 'it exited'}")
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def kill(self) -> None:
        """SIGKILL, as a crashed host: no draining, its activities time out and retry elsewhere."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        """SIGTERM: drain in-flight work, then exit."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=60)


class FolderServer:
    """`folder`'s files on a free loopback port until `close()` (or the end of a `with`)."""

    def __init__(self, folder: str | Path) -> None:
        handler = functools.partial(_QuietHandler, directory=str(folder))
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FolderServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # a notebook's output is for the reader
        pass
