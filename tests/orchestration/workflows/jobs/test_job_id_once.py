"""A job id names one job for ever: no second run under it, whatever state the first is in."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import Client

from orchestration.artifacts import artifact_store
from orchestration.client import JobExistsError, ResearchClient
from orchestration.errors import ConfigError
from tests.support.jobs import make_deps, running_jobs, spec


async def test_a_finished_job_id_is_refused_and_its_report_kept(temporal_client: Client, tmp_path: Path) -> None:
    deps = make_deps(tmp_path)
    async with running_jobs(temporal_client, tmp_path, deps=deps) as jobs:
        first = await (await jobs.start(spec(), job_id="once-only")).result()
        published = Path(first.published[0].ref)
        before = (published.read_text(), published.stat().st_mtime_ns)
        with pytest.raises(JobExistsError, match="already in use"):
            await jobs.start(spec(question="A different question about Chroma?"), job_id="once-only")
        # Another host with its own artifact folder: the server's own record refuses the id.
        elsewhere = ResearchClient(jobs.client, queues=jobs.queues, artifacts=artifact_store(tmp_path / "other"))
        with pytest.raises(JobExistsError, match=r"already in use \(that job has ended\)"):
            await elsewhere.start(spec(question="A different question about Chroma?"), job_id="once-only")
    assert (published.read_text(), published.stat().st_mtime_ns) == before
    history = [e async for e in temporal_client.list_workflows("WorkflowId = 'once-only'")]
    assert len(history) == 1, "a second run was started under the same id"


async def test_an_id_whose_artifacts_outlived_its_history_is_refused(temporal_client: Client, tmp_path: Path) -> None:
    deps = make_deps(tmp_path)
    # As after the server's retention removed the first job's history: only its files remain.
    deps.artifacts.put_text("jobs/ghost-job/run1/report-v0.md", "# an old report\n")
    async with running_jobs(temporal_client, tmp_path, deps=deps) as jobs:
        with pytest.raises(JobExistsError, match="left its artifacts"):
            await jobs.start(spec(), job_id="ghost-job")
    with pytest.raises(Exception, match="not found"):
        await temporal_client.get_workflow_handle("ghost-job").describe()


@pytest.mark.parametrize("job_id", ["../x", "a/b", "has space", "ünï", "x" * 300, ".hidden", "-dash", "a..b"])
async def test_unsafe_job_ids_start_nothing(temporal_client: Client, tmp_path: Path, job_id: str) -> None:
    async with running_jobs(temporal_client, tmp_path) as jobs:
        with pytest.raises(ConfigError, match="job id"):
            await jobs.start(spec(), job_id=job_id)
