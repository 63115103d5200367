"""The jobs under chaos: eight specs, a crash-free reference report for each, and a pump that
keeps a fixed number of jobs running through server outages."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError

from experiments.benchmarks.chaos.config import QUESTIONS, RECOVERY_MODES, ChaosConfig
from orchestration.activities.reasoning_acts import without_usage_footer
from orchestration.artifacts import LocalArtifactStore
from orchestration.client import JobEndedError, JobExistsError, ResearchClient
from orchestration.settings import OrchestrationSettings
from orchestration.shared import JobResult, Tuning

CORPUS = str(Path(__file__).resolve().parents[3] / "tests" / "data" / "corpus")
_T = TypeVar("_T")


class JobOutcome(BaseModel):
    """One job as the checks see it."""

    job_id: str
    spec_index: int
    reference: bool
    status: str
    seconds: float
    report: str | None = None
    result: JobResult | None = None
    error: str | None = None


def job_spec(index: int, config: ChaosConfig) -> dict[str, Any]:
    """Spec number `index` (0-7): a question and a recovery mode (alternating), the fake model, no approval."""
    return {
        "question": QUESTIONS[index // len(RECOVERY_MODES) % len(QUESTIONS)],
        "recovery": RECOVERY_MODES[index % len(RECOVERY_MODES)],
        "corpus": [CORPUS],
        "model": {"provider": "fake"},
        "max_subtasks": config.max_subtasks,
        "parallelism": config.max_subtasks,
        "validation_rounds": 0,
        "approval": {"required": False},
    }


async def outlasting_outages(call: Callable[[], Awaitable[_T]], limit_s: float = 600.0) -> _T:
    """Repeat a client call while the server is down (killed and restarting), up to `limit_s`."""
    deadline = time.monotonic() + limit_s
    while True:
        try:
            return await call()
        except (RPCError, RuntimeError):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)


async def connect_jobs(address: str, settings: OrchestrationSettings, config: ChaosConfig) -> ResearchClient:
    client = await outlasting_outages(
        lambda: Client.connect(address, namespace=settings.namespace, data_converter=pydantic_data_converter)
    )
    # Enough attempts that no run of faults can exhaust them: the benchmark asks whether the
    # job survives, not whether a bounded retry policy gives up.
    tuning = Tuning(heartbeat_timeout_s=config.heartbeat_timeout_s, reasoning_attempts=50, io_attempts=50,
                    retry_initial_s=0.2, io_timeout_s=config.io_timeout_s)  # fmt: skip
    return ResearchClient(
        client, queues=settings.task_queues(), tuning=tuning,
        artifacts=LocalArtifactStore(settings.home.expanduser() / "artifacts"),
    )  # fmt: skip


async def run_job(jobs: ResearchClient, job_id: str, index: int, config: ChaosConfig, reference: bool) -> JobOutcome:
    """Start one job (idempotently across outages) and wait for its result."""
    started = time.monotonic()

    async def start() -> None:
        # JobExistsError: the start reached the server before an outage cut the reply.
        with contextlib.suppress(JobExistsError):
            await jobs.start(job_spec(index, config), job_id=job_id)

    await outlasting_outages(start)
    handle = jobs.attach(job_id)
    try:
        result = await outlasting_outages(handle.result, limit_s=config.drain_timeout_s)
    except JobEndedError as exc:
        return JobOutcome(job_id=job_id, spec_index=index, reference=reference, status="ended",
                          seconds=time.monotonic() - started, error=str(exc))  # fmt: skip
    report = None
    if result.report is not None and jobs.artifacts is not None:
        # What the report finds must not change with a crash; what the job spent does (a resumed
        # graph skips the calls its checkpoint kept), so the usage footer is left out of the check.
        report = without_usage_footer(jobs.artifacts.get_text(result.report.key))
    return JobOutcome(job_id=job_id, spec_index=index, reference=reference, status=result.status,
                      seconds=round(time.monotonic() - started, 3), report=report, result=result)  # fmt: skip


class JobPump:
    """Keeps `config.jobs` chaos jobs running until told to stop, cycling through the specs."""

    def __init__(self, jobs: ResearchClient, config: ChaosConfig, tag: str) -> None:
        self._jobs = jobs
        self._config = config
        self._tag = tag
        self._started = 0
        self._running: set[asyncio.Task[JobOutcome]] = set()
        self.outcomes: list[JobOutcome] = []
        self._stop = asyncio.Event()

    async def run(self) -> None:
        while not self._stop.is_set():
            while len(self._running) < self._config.jobs and not self._stop.is_set():
                self._launch()
            done, _ = await asyncio.wait(self._running, timeout=0.5, return_when=asyncio.FIRST_COMPLETED)
            self._collect(done)

    def _launch(self) -> None:
        index = self._started % self._config.specs
        job_id = f"chaos-{self._tag}-{self._started:04d}"
        self._started += 1
        self._running.add(asyncio.create_task(run_job(self._jobs, job_id, index, self._config, reference=False)))

    def _collect(self, done: set[asyncio.Task[JobOutcome]]) -> None:
        for task in done:
            self._running.discard(task)
            self.outcomes.append(task.result())

    async def drain(self) -> None:
        """Stop starting jobs and wait for the running ones."""
        self._stop.set()
        if self._running:
            done, _ = await asyncio.wait(self._running)
            self._collect(done)
