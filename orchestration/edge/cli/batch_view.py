"""`status`, `result` and `cancel` for a batch (job_cmds prints here when the id names a batch)."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import typer
from rich.markdown import Markdown
from rich.table import Table

from orchestration.batch_client import BatchHandle
from orchestration.edge.cli.output import console, emit_json, fail
from orchestration.edge.live_view import RAISE_HINT, reduce_failed_prompt
from orchestration.shared.batch import BatchResult, ReduceProgress
from orchestration.shared.doc_record import DocRecord
from orchestration.shared.usage import Usage


async def batch_status(handle: BatchHandle, artifacts_root: Path, as_json: bool) -> None:
    job = handle.job_id
    if await handle.closed():
        summary = await _closed(handle, artifacts_root)
        spent = f"; spent {Usage.model_validate(summary['usage']).line()}" if "usage" in summary else ""
        emit_json(summary) if as_json else console.print(
            f"Batch {job}: {summary['phase']} - {summary['done']} done, {summary['failed']} failed{spent}",
            highlight=False,
        )
        return
    try:
        p = await asyncio.wait_for(handle.progress(), timeout=10)
    except TimeoutError:
        fail(f"batch {job} is running but no worker answered; start one with `durable-research worker`")
    if as_json:
        emit_json(p.model_dump(mode="json"))
        return
    console.print(
        f"batch {job}  {p.phase}{' (paused)' if p.paused else ''}  total {p.total}  done {p.done}  "
        f"failed {p.failed}  running {p.running}  {p.docs_per_s or 0:.1f} docs/s  ETA {p.eta_s or 0:.0f} s",
        highlight=False,
    )
    console.print(f"spent so far: {p.usage.line()}", highlight=False)
    if p.reduce is not None:
        console.print(reduce_line(job, p.reduce), highlight=False)
    if p.phase == "awaiting_budget":
        console.print(f"budget reached ({p.budget_note}): {RAISE_HINT.format(job=job)}", highlight=False)
    table = Table("shard", "documents", "status", "done", "failed", "reused", box=None, header_style="dim")
    for sh in p.shards:
        table.add_row(
            str(sh.index), f"{sh.start}-{sh.end - 1}", sh.status, str(sh.done), str(sh.failed), str(sh.reused)
        )
    console.print(table)


def reduce_line(job: str, r: ReduceProgress) -> str:
    """The reduce tree in one line; a tree that failed during the analysis, with what to do about it."""
    if r.error is not None:
        return reduce_failed_prompt(job, r.error)
    steps = f"{r.groups} step" + ("s" if r.groups != 1 else "")
    line = f"reduce: level {r.level} ({steps}); {r.steps} done in all, {r.running} running"
    if r.waiting:
        line += f", {r.waiting} waiting" + (" for the analysis" if r.overlapped and not r.analysis_done else "")
    return line + (" (paused)" if r.paused else "")


async def _closed(handle: BatchHandle, root: Path) -> dict[str, Any]:
    """A closed batch from its result (or, failed or cancelled, from its document records)."""
    try:
        r = await handle.handle.result()
        return {"job_id": handle.job_id, "phase": r.status, "closed": True} | r.model_dump(mode="json")
    except Exception:
        desc = await handle.handle.describe()
        recs = partial_results(root, handle.job_id)
        return {
            "job_id": handle.job_id, "phase": desc.status.name.lower() if desc.status else "failed", "closed": True,
            "done": sum(r.ok for r in recs), "failed": sum(not r.ok for r in recs),
            "results": sorted({r.result for r in recs if r.ok}),
        }  # fmt: skip


def partial_results(root: Path, job: str) -> list[DocRecord]:
    """The batch's document records (what finished, what failed and why), in manifest order."""
    folder = root / "jobs" / job / "docs"
    if not folder.is_dir():
        return []
    return [DocRecord.model_validate_json(p.read_text()) for p in sorted(folder.glob("*.json"))]


async def batch_cancel(handle: BatchHandle, artifacts_root: Path, as_json: bool) -> None:
    job = handle.job_id
    await handle.cancel()
    # Cancelled is the expected end; without a worker the cancellation finishes later.
    with contextlib.suppress(Exception):
        await asyncio.wait_for(handle.handle.result(), timeout=30)
    recs = [r for r in partial_results(artifacts_root, job) if r.ok]
    keys = sorted({r.result for r in recs})
    if as_json:
        emit_json({"job_id": job, "cancel_requested": True, "partial_results": keys})
    else:
        console.print(f"Cancellation requested for batch {job}; {len(recs)} documents' results are kept:")
        for key in keys[:20]:
            console.print(f"  {artifacts_root / key}", highlight=False)
        if len(keys) > 20:
            console.print(f"  ... and {len(keys) - 20} more under {artifacts_root / 'jobs' / job / 'results'}")


def print_batch_result(result: BatchResult, root: Path, as_json: bool) -> None:
    """The batch's counts and spending, then its report; exit 1 unless it completed."""
    path = root / result.report.key if result.report else None
    if as_json:
        emit_json(result.model_dump(mode="json") | {"report_path": str(path) if path else None})
    else:
        console.print(f"Batch {result.job_id}: [bold]{result.status}[/] - {result.done}/{result.total} done, "
                      f"{result.failed} failed, {result.reused} reused; spent {result.usage.line()}",
                      highlight=False)  # fmt: skip
        if path and path.exists():
            console.print(f"Report: {path}\n", highlight=False)
            console.print(Markdown(path.read_text(encoding="utf-8")))
    if result.status != "completed":
        raise typer.Exit(1)
