"""The arms: how each one runs a workload run, notices a crash and carries on.

Local arms (A0, A1 sync/async, A1t) run the graph in a child process; their
supervisor is this controller, which notices the death of its child at once and
hands the run to a warm standby (imports already paid, as a Temporal worker's are).
Temporal arms (A2, A3, A4) run two worker processes; after a kill the controller
only replaces the dead worker, and Temporal itself must notice the crash (heartbeat
timeout, sticky-queue timeout) and retry.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from experiments.recovery.config import ExperimentConfig
from experiments.recovery.errors import RunTimeoutError
from experiments.recovery.hub import EventHub
from experiments.recovery.local_runner import LocalRunResult, LocalRunSpec
from experiments.recovery.models import TemporalRunRequest, TemporalRunResult
from experiments.recovery.procs import Child
from experiments.recovery.workload import QUESTION


@dataclass
class ArmEnv:
    """What arms share: the work folder, the hub, the experiment's settings, and Temporal when needed."""

    work: Path
    hub: EventHub
    settings: ExperimentConfig
    temporal_address: str = ""
    client: Any = None


@dataclass
class Outcome:
    """How one run ended, as seen by its arm."""

    completed: bool
    t_start: float
    t_end: float
    answer_hash: str = ""
    error: str = ""
    notices: list[float] = field(default_factory=list)
    storage_bytes: int = 0
    memory_notes: int = 0


class LocalArm:
    """A0 (no checkpointer) and A1/A1t (SqliteSaver + supervisor resuming with invoke(None))."""

    kind = "local"

    def __init__(self, name: str, *, checkpoint: bool, durability: str = "sync", use_tasks: bool = False) -> None:
        self.name = name
        self.checkpoint = checkpoint
        self.durability = durability
        self.use_tasks = use_tasks
        self._env: ArmEnv | None = None
        self._pool: list[Child] = []

    @property
    def description(self) -> str:
        if not self.checkpoint:
            return "no checkpointer; a crash restarts the run"
        tasks = " + @task per model call" if self.use_tasks else ""
        return f"SqliteSaver durability={self.durability}{tasks}; supervisor invoke(None)"

    def _spawn(self) -> Child:
        assert self._env is not None
        child = Child(
            ["-m", "experiments.recovery.local_runner"],
            self._env.work / f"{self.name}-runner.log",
            stdin=True,
        )
        self._env.hub.owned_pids.add(child.pid)
        return child

    async def setup(self, env: ArmEnv) -> None:
        self._env = env
        await self._top_up()

    async def teardown(self) -> None:
        for child in self._pool:
            child.stop()
        self._pool = []

    async def _top_up(self) -> None:
        """Two warm standbys before a run starts, so no import competes with a clean run."""
        self._pool = [c for c in self._pool if c.alive()]
        while len(self._pool) < 2:
            self._pool.append(self._spawn())
        for child in self._pool:
            await asyncio.to_thread(child.wait_ready)

    async def _take(self, replace: bool) -> Child:
        """The next warm standby; after a crash a replacement starts at once (as a worker's)."""
        child = self._pool.pop(0) if self._pool else self._spawn()
        if replace:
            self._pool.append(self._spawn())
        await asyncio.to_thread(child.wait_ready)
        return child

    async def run(self, context: dict[str, Any], run_dir: Path) -> Outcome:
        assert self._env is not None
        await self._top_up()
        result_path = run_dir / "result.json"
        checkpoint = str(run_dir / "checkpoints.sqlite") if self.checkpoint else None
        spec = LocalRunSpec(
            context=context,
            checkpoint_path=checkpoint,
            durability=self.durability,  # type: ignore[arg-type]
            result_path=str(result_path),
        ).model_dump_json()
        t_start = time.time()
        child = await self._take(replace=False)
        child.send(spec)
        notices: list[float] = []
        deadline = time.monotonic() + self._env.settings.run_timeout_s
        while True:
            code = child.proc.poll()
            if code is None:
                if time.monotonic() > deadline:
                    child.stop()
                    raise RunTimeoutError(f"{self.name} run {context['run']} timed out")
                await asyncio.sleep(0.01)
                continue
            child.stop()
            if code == 0 and result_path.exists():
                break
            notices.append(time.time())
            if len(notices) >= self._env.settings.max_attempts:
                return Outcome(False, t_start, time.time(), error=f"exit {code}", notices=notices)
            child = await self._take(replace=True)
            child.send(spec)
        result = LocalRunResult.model_validate_json(result_path.read_text())
        from experiments.recovery.graph_exec import storage_bytes

        return Outcome(
            True, t_start, result.finished_at, answer_hash=result.answer_hash,
            notices=notices, storage_bytes=storage_bytes(checkpoint),
            memory_notes=result.memory_notes,
        )  # fmt: skip


class TemporalArm:
    """A2 (graph in one activity, restart), A3 (same, resume), A4 (plugin, node as activity)."""

    kind = "temporal"

    def __init__(self, name: str, *, worker_kind: Literal["graph", "plugin"], mode: str) -> None:
        self.name = name
        self.worker_kind = worker_kind
        self.mode = mode
        self._env: ArmEnv | None = None
        self._workers: list[Child] = []
        self._queue = ""

    @property
    def description(self) -> str:
        if self.worker_kind == "plugin":
            return "temporalio-langgraph plugin: graph loop in the workflow, node = activity"
        if self.mode == "resume":
            return "graph in one activity; retry resumes from SQLite (sync) via invoke(None)"
        return "graph in one activity; retry reruns the graph from its first node"

    def _spawn(self) -> Child:
        assert self._env is not None
        s = self._env.settings
        child = Child(
            [
                "-m", "experiments.recovery.worker",
                "--address", self._env.temporal_address,
                "--task-queue", self._queue,
                "--kind", self.worker_kind,
                "--sticky-s", str(s.sticky_s),
                "--heartbeat-s", str(s.heartbeat_s),
                "--max-attempts", str(s.max_attempts),
                "--retry-initial-s", str(s.retry_initial_s),
            ],
            self._env.work / f"{self.name}-worker.log",
        )  # fmt: skip
        self._env.hub.owned_pids.add(child.pid)
        return child

    async def setup(self, env: ArmEnv) -> None:
        self._env = env
        self._queue = f"recovery-{self.name}-{uuid.uuid4().hex[:8]}"
        self._workers = [self._spawn() for _ in range(env.settings.workers)]
        await self._ensure_workers(wait=True)

    async def teardown(self) -> None:
        for worker in self._workers:
            worker.stop()

    async def _ensure_workers(self, wait: bool) -> None:
        """Replace dead workers (the restart a process manager would do)."""
        for i, worker in enumerate(self._workers):
            if not worker.alive():
                worker.stop()
                self._workers[i] = self._spawn()
        if wait:
            for worker in self._workers:
                await asyncio.to_thread(worker.wait_ready)

    def _request(self, context: dict[str, Any], run_dir: Path) -> TemporalRunRequest:
        assert self._env is not None
        s = self._env.settings
        return TemporalRunRequest(
            context=context, mode=self.mode, checkpoint_dir=str(run_dir),  # type: ignore[arg-type]
            heartbeat_s=s.heartbeat_s, retry_initial_s=s.retry_initial_s,
            max_attempts=s.max_attempts, question=QUESTION,
        )  # fmt: skip

    async def run(self, context: dict[str, Any], run_dir: Path) -> Outcome:
        assert self._env is not None
        await self._ensure_workers(wait=True)
        workflow = "recovery.PluginGraph" if self.worker_kind == "plugin" else ("recovery.GraphInActivity")
        t_start = time.time()
        handle = await self._env.client.start_workflow(
            workflow, self._request(context, run_dir), id=f"wf-{context['run']}",
            task_queue=self._queue, result_type=TemporalRunResult,
        )  # fmt: skip
        waiter = asyncio.ensure_future(handle.result())
        deadline = time.monotonic() + self._env.settings.run_timeout_s
        while not waiter.done():
            await asyncio.wait([waiter], timeout=0.05)
            await self._ensure_workers(wait=False)
            if time.monotonic() > deadline:
                waiter.cancel()
                await handle.terminate("recovery experiment: run timed out")
                raise RunTimeoutError(f"{self.name} run {context['run']} timed out")
        t_end = time.time()
        try:
            result: TemporalRunResult = waiter.result()
        except Exception as exc:  # a failed workflow is a data point, not a crash
            return Outcome(False, t_start, t_end, error=f"{type(exc).__name__}: {exc}")
        history = await handle.fetch_history()
        history_bytes = sum(event.ByteSize() for event in history.events)
        return Outcome(
            True, t_start, t_end, answer_hash=result.answer_hash,
            storage_bytes=history_bytes + result.checkpoint_bytes,
            memory_notes=result.memory_notes,
        )  # fmt: skip


def make_arms() -> dict[str, LocalArm | TemporalArm]:
    """Every arm by name, in report order."""
    return {
        "A0": LocalArm("A0", checkpoint=False),
        "A1sync": LocalArm("A1sync", checkpoint=True, durability="sync"),
        "A1async": LocalArm("A1async", checkpoint=True, durability="async"),
        "A1t": LocalArm("A1t", checkpoint=True, durability="sync", use_tasks=True),
        "A2": TemporalArm("A2", worker_kind="graph", mode="restart"),
        "A3": TemporalArm("A3", worker_kind="graph", mode="resume"),
        "A4": TemporalArm("A4", worker_kind="plugin", mode="restart"),
    }
