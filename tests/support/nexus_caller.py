"""Another team's side of the Nexus service (no tests here): caller workflows in their own namespace,
which import only the contract, and the processes and CLI calls the research side runs.

The caller workflows are the example `docs/guides/nexus.md` shows.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel
from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from orchestration.shared.messages import ReportRef
    from orchestration.shared.nexus_contract import BatchRequest, DurableResearchV1, ResearchRequest

ROOT = Path(__file__).parents[2]
CLI = str(Path(sys.executable).parent / "durable-research")


class ResearchCall(BaseModel):
    endpoint: str
    request: ResearchRequest


class BatchCall(BaseModel):
    endpoint: str
    request: BatchRequest


@workflow.defn(name="NexusResearchCaller")
class ResearchCaller:
    """Runs research in the research namespace through the endpoint; returns the report's reference."""

    @workflow.run
    async def run(self, call: ResearchCall) -> ReportRef:
        research = workflow.create_nexus_client(service=DurableResearchV1, endpoint=call.endpoint)
        result = await research.execute_operation(DurableResearchV1.research, call.request)
        if result.report is None:
            raise ApplicationError(f"job {result.job_id} ended {result.status}: {result.error}", non_retryable=True)
        return result.report


@workflow.defn(name="NexusBatchCaller")
class BatchCaller:
    """Runs a batch through the endpoint; returns its report's reference."""

    @workflow.run
    async def run(self, call: BatchCall) -> ReportRef:
        research = workflow.create_nexus_client(service=DurableResearchV1, endpoint=call.endpoint)
        result = await research.execute_operation(DurableResearchV1.batch, call.request)
        if result.report is None:
            raise ApplicationError(f"batch {result.job_id} ended {result.status}: {result.error}", non_retryable=True)
        return result.report


@contextlib.contextmanager
def nexus_serve(env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[str]]:
    """`durable-research nexus serve` with `env`, yielded at once; `ready` waits for its first line."""
    with log.open("a", encoding="utf-8") as err:
        proc = subprocess.Popen(
            [CLI, "nexus", "serve"], env=env, stdout=subprocess.PIPE, stderr=err, text=True, cwd=ROOT
        )  # fmt: skip
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=30)
        proc.stdout.close()  # type: ignore[union-attr]


def ready(proc: subprocess.Popen[str], prefix: str) -> None:
    line = proc.stdout.readline()  # type: ignore[union-attr]
    assert line.startswith(prefix), f"expected {prefix!r}, got {line!r} (exit code {proc.poll()})"


async def cli(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    """Run `durable-research ARGS` without blocking the event loop: exit code, stdout, stderr."""
    proc = await asyncio.create_subprocess_exec(
        CLI, *args, env=env, cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()
