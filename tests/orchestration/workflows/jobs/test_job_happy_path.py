"""A whole job end to end on the real dev server: ingest, plan, subtasks, validate, write, publish."""

from __future__ import annotations

import json
from pathlib import Path

from temporalio.client import Client

from reasoning.models import read_call_log
from tests.support.jobs import make_deps, running_jobs, spec


async def test_job_runs_to_a_published_report(temporal_client: Client, tmp_path: Path) -> None:
    deps = make_deps(tmp_path)
    async with running_jobs(temporal_client, tmp_path, deps=deps) as jobs:
        handle = await jobs.start(spec())
        seen_phases = [p.phase async for p in handle.watch(interval_s=0.1)]
        result = await handle.result()

    assert result.status == "completed"
    assert seen_phases[-1] == "completed"
    assert len(result.subtasks) >= 1 and all(t.status == "done" for t in result.subtasks)
    assert result.report is not None and result.report.references >= 1
    assert [p.step for p in result.published] == ["artifact", "index", "notify"]
    assert result.compensated == []

    published = Path(result.published[0].ref)
    assert published.read_text().startswith(result.report.preview[:200])
    outbox = tmp_path / "artifacts" / "outbox" / handle.job_id / "run1-v0--published.json"
    assert json.loads(outbox.read_text())["idempotency_key"] == f"{handle.job_id}:published:run1-v0"
    memory = deps.memory("research-reports")
    assert memory.count(where={"report_of": handle.job_id}) == len(result.published[1].ids)
    assert read_call_log(tmp_path / "calls.jsonl"), "the fake model was never called"
