"""The arms: how each one runs a workload run, notices a crash and carries on.

Local arms (A0, A1 sync/async, A1t) run the graph in a child process; their
supervisor is this controller, which notices the death of its child at once and
hands the run to a warm standby (imports already paid, as a Temporal worker's are).
Temporal arms (A2, A3, A4, A5) run two worker processes; after a kill the controller
only replaces the dead worker, and Temporal itself must notice the crash (heartbeat
timeout, sticky-queue timeout) and retry. A2, A3 and A5 run on the product's own path:
their workers serve the product's ``reasoning.run_subtask`` activity (built from the
product's ``WorkerDeps``), which runs the workload as a registered graph, with one
checkpoint database per job as the product keeps them. A2 (restart) and A3 (resume) turn
the product's call log off; A5restart and A5resume keep it on (the product's default).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from experiments.recovery.config import ExperimentConfig
from experiments.recovery.errors import RunTimeoutError
from experiments.recovery.graph_exec import storage_bytes, thread_bytes
from experiments.recovery.hub import EventHub
from experiments.recovery.local_runner import LocalRunResult, LocalRunSpec
from experiments.recovery.models import SubtaskRun, TemporalRunRequest, TemporalRunResult
from experiments.recovery.procs import Child
from experiments.recovery.workload import ENV_ARM, ENV_EVENTS, ENV_RUNS_DIR, QUESTION, answer_hash
from orchestration.shared.messages import Recovery


@dataclass
class ArmEnv:
    """What arms share: the work folder, the hub, the experiment's settings, and Temporal when needed."""

    work: Path
    hub: EventHub
    settings: ExperimentConfig
    temporal_address: str = ""
    client: Any = None
    stub_url: str = ""


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
    replayed_calls: int | None = None  # calls the product's call log answered (product-path arms)


class LocalArm:
    """A0 (no checkpointer) and A1/A1t (SqliteSaver + supervisor resuming with invoke(None))."""

    kind = "local"
    can_pause = False  # the supervisor notices an exit; a stopped child would hold the run forever

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
        return Outcome(
            True, t_start, result.finished_at, answer_hash=result.answer_hash,
            notices=notices, storage_bytes=storage_bytes(checkpoint),
            memory_notes=result.memory_notes,
        )  # fmt: skip


class TemporalArm:
    """A2 (product's subtask activity, restart), A3 (same, resume), A4 (plugin, node as activity),
    A5restart and A5resume (A2 and A3 with the product's call log)."""

    kind = "temporal"
    can_pause = True

    def __init__(
        self, name: str, *, worker_kind: Literal["subtask", "plugin"], mode: Recovery, call_log: bool = False
    ) -> None:
        self.name = name
        self.worker_kind = worker_kind
        self.mode: Recovery = mode
        self.call_log = call_log
        self._env: ArmEnv | None = None
        self._workers: list[Child] = []
        self._queue = ""
        self._deps: Any = None

    @property
    def description(self) -> str:
        if self.worker_kind == "plugin":
            return "temporalio-langgraph plugin: graph loop in the workflow, node = activity"
        log = "; call log on" if self.call_log else "; call log off"
        if self.mode == "resume":
            return "product's reasoning.run_subtask; retry resumes from SQLite (sync) via invoke(None)" + log
        return "product's reasoning.run_subtask; retry reruns the graph from its first node" + log

    @property
    def _home(self) -> Path:
        """The product's state folder the arm's workers share (artifacts, checkpoints)."""
        assert self._env is not None
        return self._env.work / f"{self.name}-home"

    @property
    def checkpoints(self) -> Path:
        """The arm's checkpoint folder: one database per job (workflow id), the product's default."""
        return self._home / "checkpoints"

    def database(self, run: str) -> Path:
        """The checkpoint database of `run`: its checkpoints (resume) and its call log."""
        from reasoning.checkpoints import database_name

        return self.checkpoints / f"{database_name(workflow_id(run))}.sqlite"

    def _worker_env(self) -> dict[str, str]:
        """This process's environment plus the product's worker settings, as an operator would
        set them, and the workload's."""
        assert self._env is not None
        # A shared file set in this shell would override the per-job folder.
        inherited = {k: v for k, v in os.environ.items() if k != "DURABLE_RESEARCH_CHECKPOINT_SQLITE_PATH"}
        return inherited | {
            "DURABLE_RESEARCH_MODEL_PROVIDER": "openai",
            "DURABLE_RESEARCH_MODEL_BASE_URL": self._env.stub_url,
            "DURABLE_RESEARCH_MODEL_API_KEY": "stub",
            "DURABLE_RESEARCH_MODEL_NAME": "stub",
            "DURABLE_RESEARCH_MODEL_TIMEOUT_S": "60",
            # The workload keeps its own per-run memory; the product's handle stays in-process.
            "DURABLE_RESEARCH_MEMORY_MODE": "memory",
            "DURABLE_RESEARCH_CHECKPOINT_SQLITE_DIR": str(self.checkpoints),
            "DURABLE_RESEARCH_CHECKPOINT_POSTGRES_URL": "",
            "DURABLE_RESEARCH_CHECKPOINT_CALL_LOG": "true" if self.call_log else "false",
            ENV_ARM: self.name,
            ENV_EVENTS: self._env.hub.address,
            ENV_RUNS_DIR: str(self._env.work / "runs"),
        }

    def _spawn(self) -> Child:
        assert self._env is not None
        s = self._env.settings
        args = [
            "-m", "experiments.recovery.worker",
            "--address", self._env.temporal_address,
            "--task-queue", self._queue,
            "--kind", self.worker_kind,
            "--sticky-s", str(s.sticky_s),
            "--heartbeat-s", str(s.heartbeat_s),
            "--max-attempts", str(s.max_attempts),
            "--retry-initial-s", str(s.retry_initial_s),
        ]  # fmt: skip
        env = None
        if self.worker_kind == "subtask":
            args += ["--home", str(self._home)]
            env = self._worker_env()
        child = Child(args, self._env.work / f"{self.name}-worker.log", env=env)
        self._env.hub.owned_pids.add(child.pid)
        return child

    async def setup(self, env: ArmEnv) -> None:
        self._env = env
        self._queue = f"recovery-{self.name}-{uuid.uuid4().hex[:8]}"
        if self.worker_kind == "subtask":
            from orchestration.activities import WorkerDeps

            # Only to read findings where the product's activity wrote them.
            self._deps = WorkerDeps.from_env(self._home)
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

    def _request(self, context: dict[str, Any]) -> SubtaskRun | TemporalRunRequest:
        assert self._env is not None
        s = self._env.settings
        retry = {
            "heartbeat_s": s.heartbeat_s, "retry_initial_s": s.retry_initial_s, "max_attempts": s.max_attempts,
        }  # fmt: skip
        if self.worker_kind == "plugin":
            return TemporalRunRequest(context=context, question=QUESTION, **retry)
        from experiments.recovery.subtask_graph import COLLECTION, SUBTASK_KIND, WORKLOAD_GRAPH
        from orchestration.shared.messages import SubtaskRef, SubtaskRequest
        from orchestration.shared.spec import ModelChoice

        run = context["run"]
        request = SubtaskRequest(
            job_id=run, graph=WORKLOAD_GRAPH, model=ModelChoice(provider="openai", name="stub"),
            recovery=self.mode, collection=COLLECTION,
            subtask=SubtaskRef(id=run, kind=SUBTASK_KIND, question=QUESTION),
        )  # fmt: skip
        return SubtaskRun(request=request, **retry)

    async def run(self, context: dict[str, Any], run_dir: Path) -> Outcome:
        assert self._env is not None
        await self._ensure_workers(wait=True)
        plugin = self.worker_kind == "plugin"
        workflow = "recovery.PluginGraph" if plugin else "recovery.GraphInActivity"
        result_type: type[Any] = TemporalRunResult
        if not plugin:
            from orchestration.shared.messages import SubtaskResult

            result_type = SubtaskResult
        t_start = time.time()
        handle = await self._env.client.start_workflow(
            workflow, self._request(context), id=workflow_id(context["run"]),
            task_queue=self._queue, result_type=result_type,
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
            result = waiter.result()
        except Exception as exc:  # a failed workflow is a data point, not a crash
            return Outcome(False, t_start, t_end, error=failure_chain(exc))
        history = await handle.fetch_history()
        history_bytes = sum(event.ByteSize() for event in history.events)
        if plugin:
            return Outcome(
                True, t_start, t_end, answer_hash=result.answer_hash, storage_bytes=history_bytes,
                memory_notes=result.memory_notes,
            )  # fmt: skip
        return await asyncio.to_thread(self._subtask_outcome, result, context, t_start, t_end, history_bytes)

    def _subtask_outcome(
        self, result: Any, context: dict[str, Any], t_start: float, t_end: float, history_bytes: int
    ) -> Outcome:
        """Read what the product's activity left: the finding artifact, the thread's checkpoints."""
        from experiments.recovery import memory
        from orchestration.shared.spec import subtask_activity_id
        from reasoning.types import Finding

        finding = Finding.model_validate_json(self._deps.artifacts.get_text(result.finding_key))
        # The product's thread is workflow id / run id / activity id.
        thread = f"{workflow_id(context['run'])}/%/{subtask_activity_id(context['run'], 1)}"
        stored = thread_bytes(self.database(context["run"]), thread)
        return Outcome(
            True, t_start, t_end, answer_hash=answer_hash(finding.answer),
            storage_bytes=history_bytes + stored,
            memory_notes=memory.count_notes_once(context["memory_dir"]),
            replayed_calls=result.usage.replayed_calls,
        )  # fmt: skip

    def zombie_audit(self, run: str, pause: dict[str, Any]) -> dict[str, Any]:
        """What a paused attempt left in the run's database after its successor took over.

        `zombie_log_writes`: call-log rows written after the takeover by an attempt older than
        the successor (None without a call log); `forked_chains` and `reruns_from_input`: the
        product's checkpoint audit of the run's database (None outside resume mode).
        """
        out: dict[str, Any] = {"zombie_log_writes": None, "forked_chains": None, "reruns_from_input": None}
        if self.worker_kind != "subtask" or pause.get("takeover_t") is None:
            return out
        from reasoning import checkpoint_audit

        db = self.database(run)
        if self.mode == "resume":
            audit = checkpoint_audit(db)
            out["forked_chains"], out["reruns_from_input"] = audit["forked_threads"], audit["rerun_from_input"]
        if self.call_log and db.exists():
            successor = int(pause.get("takeover_attempt") or int(pause["attempt"]) + 1)
            out["zombie_log_writes"] = log_writes_after(db, float(pause["takeover_t"]), successor)
        return out


def workflow_id(run: str) -> str:
    """The workflow id of a run of a Temporal arm (its checkpoint database is named after it)."""
    return f"wf-{run}"


def log_writes_after(db: Path, since: float, below_attempt: int) -> int:
    """Call-log rows of `db` written after `since` (epoch s) by an attempt lower than `below_attempt`."""
    # The product stamps rows with SQLite's UTC clock, to the millisecond, in this ISO form.
    stamp = datetime.fromtimestamp(since, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    with contextlib.closing(sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)) as conn:
        if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'call_log'").fetchone():
            return 0
        row = conn.execute(
            "SELECT COUNT(*) FROM call_log WHERE attempt < ? AND created_at > ?", (below_attempt, stamp)
        ).fetchone()
    return int(row[0])


def failure_chain(exc: BaseException, depth: int = 5) -> str:
    """The error and its causes ("workflow failed" alone hides the activity's timeout or error)."""
    parts: list[str] = []
    current: BaseException | None = exc
    while current is not None and len(parts) < depth:
        parts.append(f"{type(current).__name__}: {current}")
        current = current.__cause__ or getattr(current, "cause", None)
    return " <- ".join(parts)


def make_arms() -> dict[str, LocalArm | TemporalArm]:
    """Every arm by name, in report order."""
    return {
        "A0": LocalArm("A0", checkpoint=False),
        "A1sync": LocalArm("A1sync", checkpoint=True, durability="sync"),
        "A1async": LocalArm("A1async", checkpoint=True, durability="async"),
        "A1t": LocalArm("A1t", checkpoint=True, durability="sync", use_tasks=True),
        "A2": TemporalArm("A2", worker_kind="subtask", mode="restart"),
        "A3": TemporalArm("A3", worker_kind="subtask", mode="resume"),
        "A4": TemporalArm("A4", worker_kind="plugin", mode="restart"),
        "A5restart": TemporalArm("A5restart", worker_kind="subtask", mode="restart", call_log=True),
        "A5resume": TemporalArm("A5resume", worker_kind="subtask", mode="resume", call_log=True),
    }
