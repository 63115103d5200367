"""The processes under test: a Chroma server, the embedded Temporal server and worker processes.

Every process is started the way an operator starts it (`chroma run`, `durable-research
server start`, `durable-research worker`), and every fault is a real signal to a pid this
harness started or recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from experiments.recovery.errors import StubStartError
from experiments.recovery.procs import Child
from orchestration.errors import DurableResearchError
from orchestration.server import EmbeddedServer, _free_port
from orchestration.settings import OrchestrationSettings

VENV_BIN = Path(sys.executable).parent
CLI = str(VENV_BIN / "durable-research")


class ClusterError(RuntimeError):
    """A process of the cluster could not be started at all."""


@dataclass
class WorkerSlot:
    """One worker process and what the fault loop may do to it."""

    index: int
    child: Child
    ready: bool = False
    paused: bool = False
    started_at: float = field(default_factory=time.monotonic)


class Cluster:
    """Owns the state folder, the ports and every process of one chaos run."""

    def __init__(self, work: Path, *, workers: int, model_latency_s: float, prefix: str) -> None:
        self.work = work
        self.home = work / "home"
        self.home.mkdir(parents=True, exist_ok=True)
        self.port, self.ui_port = _free_port(), _free_port()
        self.chroma_port = _free_port()
        self.target_workers = workers
        self.prefix = prefix
        self._latency = model_latency_s
        self._chroma: subprocess.Popen[bytes] | None = None
        self.workers: list[WorkerSlot] = []
        self._spawned = 0
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def chroma_url(self) -> str:
        return f"http://127.0.0.1:{self.chroma_port}"

    def settings(self) -> OrchestrationSettings:
        return OrchestrationSettings.model_validate(
            {"home": self.home, "temporal_address": None, "temporal_port": self.port, "ui_port": self.ui_port,
             "task_queue_prefix": self.prefix}
        )  # fmt: skip

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DURABLE_RESEARCH_", "TEMPORAL_"))}
        return env | {
            "DURABLE_RESEARCH_HOME": str(self.home),
            "DURABLE_RESEARCH_TEMPORAL_PORT": str(self.port),
            "DURABLE_RESEARCH_UI_PORT": str(self.ui_port),
            "DURABLE_RESEARCH_TASK_QUEUE_PREFIX": self.prefix,
            "DURABLE_RESEARCH_MEMORY_MODE": "http",
            "DURABLE_RESEARCH_MEMORY_URL": self.chroma_url,
            "DURABLE_RESEARCH_MEMORY_CHUNK_SIZE": "400",
            "DURABLE_RESEARCH_MEMORY_CHUNK_OVERLAP": "40",
            "DURABLE_RESEARCH_MODEL_FAKE_LATENCY_S": str(self._latency),
            "DURABLE_RESEARCH_WORKER_STICKY_TIMEOUT_S": "1",
            "DURABLE_RESEARCH_WORKER_GRACEFUL_SHUTDOWN_S": "5",
            "DURABLE_RESEARCH_WORKER_CONNECT_RETRY_S": "900",
            "DURABLE_RESEARCH_WORKER_CONNECT_BACKOFF_MAX_S": "1",
        }

    # --- Chroma ----------------------------------------------------------------

    def start_chroma(self) -> None:
        log = (self.work / "chroma.log").open("wb")
        args = [str(VENV_BIN / "chroma"), "run", "--path", str(self.work / "chroma"),
                "--host", "127.0.0.1", "--port", str(self.chroma_port)]  # fmt: skip
        self._chroma = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self._chroma.poll() is not None:
                raise ClusterError(f"chroma run exited {self._chroma.returncode}; see {self.work / 'chroma.log'}")
            with contextlib.suppress(OSError), urllib.request.urlopen(f"{self.chroma_url}/api/v2/heartbeat", timeout=1):
                return
            time.sleep(0.2)
        raise ClusterError(f"chroma run did not answer within 60 s; see {self.work / 'chroma.log'}")

    # --- Temporal server -------------------------------------------------------

    def start_server(self, timeout_s: float = 120.0) -> tuple[float, int]:
        """`durable-research server start` until it succeeds; returns (seconds, refused attempts)."""
        started = time.monotonic()
        refused = 0
        with (self.work / "server-start.log").open("a") as log:
            while True:
                done = subprocess.run([CLI, "server", "start", "--json"], env=self._env(), capture_output=True,
                                      text=True, timeout=120)  # fmt: skip
                elapsed = time.monotonic() - started
                log.write(f"--- rc {done.returncode} after {elapsed:.2f}s\n{done.stdout}{done.stderr}")
                if done.returncode == 0:
                    return time.monotonic() - started, refused
                refused += 1
                if time.monotonic() - started > timeout_s:
                    raise ClusterError(f"the server did not restart within {timeout_s:.0f} s; see {log.name}")
                time.sleep(0.2)

    def kill_server(self) -> tuple[int, float, int]:
        """SIGKILL the recorded server, then restart it on the same home and ports.

        The restart goes through `EmbeddedServer.ensure_started`, the code behind `server
        start` and every auto-start, in this process: the CLI's own start-up (~2 s of
        imports on 2 cores) would otherwise hide the server's. Returns the dead pid, seconds
        from the kill to a server answering on its namespace, and refused starts.
        """
        server = EmbeddedServer(self.settings())
        record = server.read_record()
        if record is None:
            raise ClusterError("no server record to kill")
        killed_at = time.monotonic()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(record.pid, signal.SIGKILL)
        _wait_dead(record.pid)
        refused = 0
        while True:
            try:
                server.ensure_started()
                return record.pid, time.monotonic() - killed_at, refused
            except DurableResearchError as exc:
                refused += 1
                with (self.work / "server-start.log").open("a") as log:
                    log.write(f"--- restart refused after {time.monotonic() - killed_at:.2f}s: {exc}\n")
                if time.monotonic() - killed_at > 120:
                    raise ClusterError(f"the server did not restart within 120 s: {exc}") from exc
                time.sleep(0.2)

    def stop_server(self) -> None:
        with contextlib.suppress(Exception):
            EmbeddedServer(self.settings()).stop()

    # --- workers ---------------------------------------------------------------

    def spawn_worker(self) -> WorkerSlot:
        """Start a `durable-research worker`; it becomes `ready` when it says so (in the background)."""
        self._spawned += 1
        child = Child([CLI, "worker"], self.work / f"worker-{self._spawned}.log", env=self._env())
        slot = WorkerSlot(index=self._spawned, child=child)
        self.workers.append(slot)
        task = asyncio.get_running_loop().create_task(self._await_ready(slot))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return slot

    async def _await_ready(self, slot: WorkerSlot) -> None:
        with contextlib.suppress(StubStartError):  # killed before it was ready: nothing to wait for
            line = await asyncio.to_thread(slot.child.wait_ready)
            slot.ready = line.startswith("worker ready")

    def usable_workers(self) -> list[WorkerSlot]:
        return [w for w in self.workers if w.ready and not w.paused and w.child.alive()]

    def kill_worker(self, slot: WorkerSlot) -> None:
        """SIGKILL one worker, reap it and start its replacement at once."""
        self.workers.remove(slot)
        slot.child.stop()  # SIGKILL by pid, then reap
        self.spawn_worker()

    async def pause_worker(self, slot: WorkerSlot, seconds: float) -> None:
        slot.paused = True
        os.kill(slot.child.pid, signal.SIGSTOP)
        try:
            await asyncio.sleep(seconds)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.kill(slot.child.pid, signal.SIGCONT)
            slot.paused = False

    async def wait_workers_ready(self, timeout_s: float = 120.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not all(w.ready for w in self.workers):
            dead = [w for w in self.workers if not w.child.alive()]
            if dead or time.monotonic() > deadline:
                raise ClusterError(f"worker {dead[0].index if dead else '?'} did not start; see {self.work}")
            await asyncio.sleep(0.1)

    def stop_all(self) -> None:
        """Drain the workers (SIGTERM), then stop the server and Chroma; each by its own pid."""
        for slot in self.workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(slot.child.pid, signal.SIGCONT)
                slot.child.proc.terminate()
        for slot in self.workers:
            with contextlib.suppress(subprocess.TimeoutExpired):
                slot.child.proc.wait(timeout=15)
            slot.child.stop()
        self.workers.clear()
        self.stop_server()
        if self._chroma is not None and self._chroma.poll() is None:
            self._chroma.terminate()
            try:
                self._chroma.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._chroma.kill()
                self._chroma.wait()


def _wait_dead(pid: int, timeout_s: float = 10.0) -> None:
    """Until `pid` is gone or a zombie (a server started by an exited CLI is not our child)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return
        if state == "Z":  # its main thread is gone; EmbeddedServer waits for the rest to release the ports
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
            return
        time.sleep(0.01)
