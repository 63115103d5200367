"""`durable-research prune` removes what a closed job left (its checkpoint database with the call
log, its usage ledgers, with `--artifacts` its artifacts) and keeps everything of a running job."""

from __future__ import annotations

import json
from pathlib import Path

from temporalio.client import Client

from orchestration.artifacts import published_key
from orchestration.server import ServerRecord
from tests.support.cli_jobs import cli
from tests.support.jobs import running_jobs, spec, wait_for_phase


async def test_prune_removes_a_closed_jobs_state_and_keeps_a_running_ones(
    temporal_client: Client, temporal_server: ServerRecord, tmp_path: Path
) -> None:
    home = tmp_path
    async with running_jobs(temporal_client, home) as jobs:
        done = await jobs.start(spec(max_subtasks=1, validation_rounds=0))
        await done.result()
        waiting = await jobs.start(spec(max_subtasks=1, validation_rounds=0, approval={"required": True}))
        await wait_for_phase(waiting, "awaiting_approval")

        def leftovers(job: str) -> list[Path]:
            places = [home / "checkpoints" / f"{job}.sqlite", home / "artifacts" / "ledger" / job]
            return [p for p in places if p.exists()]

        assert len(leftovers(done.job_id)) == 2 and len(leftovers(waiting.job_id)) == 2
        out = cli(home, "prune", "--older-than", "0", "--artifacts", "--json", TEMPORAL_ADDRESS=temporal_server.address)
        assert out.returncode == 0, out.stderr
        report = json.loads(out.stdout)

        assert set(report["removed"]) == {done.job_id}
        assert set(report["removed"][done.job_id]) == {"checkpoints", "ledgers", "artifacts"}
        assert report["kept"] == {waiting.job_id: "running"}
        assert leftovers(done.job_id) == [] and not (home / "artifacts" / "jobs" / done.job_id).exists()
        assert len(leftovers(waiting.job_id)) == 2
        assert (home / "artifacts" / published_key(done.job_id)).exists()  # the output stays

        # The running job is untouched: approved now, it publishes from its own state.
        await waiting.approve(by="ok")
        assert (await waiting.result()).status == "completed"

    again = cli(home, "prune", "--older-than", "30", "--json", TEMPORAL_ADDRESS=temporal_server.address)
    assert json.loads(again.stdout)["kept"] == {waiting.job_id: "closed 0.0 days ago"}
