"""`durable-research prune`: what closed jobs leave behind (payloads, checkpoints and call logs,
usage ledgers, optionally artifacts), by age or job; a running job's state is always kept."""

from __future__ import annotations

import asyncio

import typer

from orchestration.client import connect
from orchestration.edge.cli.context import env
from orchestration.edge.cli.output import console, emit_json, fail
from orchestration.edge.prune import prune_jobs
from orchestration.errors import DurableResearchError


def prune(
    ctx: typer.Context,
    older_than: float = typer.Option(7.0, "--older-than", min=0, help="Days since the job closed."),
    job: str | None = typer.Option(None, "--job", help="Only this job (workflow id)."),
    artifacts: bool = typer.Option(False, "--artifacts", help="Also its artifacts (findings, reports, records)."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Remove closed jobs' payload blobs, checkpoint databases with their call logs, and usage ledgers."""
    environment = env(ctx)

    async def go() -> None:
        client = await connect(environment.orchestration, start_server=False)  # job states come from the server
        report = await prune_jobs(client, environment, older_than_s=older_than * 86400, job=job, artifacts=artifacts)
        if as_json:
            emit_json({"removed": report.removed, "kept": report.kept, "bytes_freed": report.bytes_freed})
            return
        for job_id, kinds in report.removed.items():
            what = ", ".join(f"{kind} {size / 1e6:.2f} MB" for kind, size in kinds.items())
            console.print(f"removed {job_id}: {what}")
        for job_id, why in report.kept.items():
            console.print(f"kept {job_id}: {why}")
        if job is not None and not report.removed and not report.kept:
            console.print(f"job {job} left nothing to prune.")
        console.print(f"freed {report.bytes_freed / 1e6:.2f} MB")

    try:
        asyncio.run(go())
    except DurableResearchError as exc:
        fail(str(exc))


def register(app: typer.Typer) -> None:
    app.command("prune")(prune)
