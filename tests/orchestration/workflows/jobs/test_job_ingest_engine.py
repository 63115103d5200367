"""A research job's large corpus is ingested by the batch engine as a child workflow, chunked as the activity would."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import Client, WorkflowExecutionStatus

from tests.support.batches import write_corpus
from tests.support.jobs import make_deps, running_jobs, spec

pytestmark = pytest.mark.timeout(120)


async def test_large_corpus_goes_through_the_engine(temporal_client: Client, tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus", 30)
    deps = make_deps(tmp_path / "home")
    async with running_jobs(temporal_client, tmp_path / "home", deps=deps) as jobs:
        engine = await jobs.start(
            spec(corpus=[str(corpus)], collection="engine-corpus", ingest_engine_min_documents=10),
            job_id="job-engine-ingest",
        )
        direct = await jobs.start(spec(corpus=[str(corpus)], collection="direct-corpus"), job_id="job-direct-ingest")
        engine_result, direct_result = await engine.result(), await direct.result()
        engine_state, direct_state = await engine.state(), await direct.state()
        child = await temporal_client.get_workflow_handle("job-engine-ingest/ingest").describe()

    assert engine_result.status == direct_result.status == "completed"
    assert child.status == WorkflowExecutionStatus.COMPLETED and child.workflow_type == "BatchJob"
    assert engine_state.ingest is not None and direct_state.ingest is not None
    assert engine_state.ingest.files == 30 and engine_state.ingest.skipped == 0
    # The engine's chunks are the direct path's: same chunker, same content-hash ids.
    assert engine_state.ingest.chunks == direct_state.ingest.chunks
    assert deps.memory("engine-corpus").count() == deps.memory("direct-corpus").count() == direct_state.ingest.chunks


async def test_small_corpus_keeps_the_single_activity(temporal_client: Client, tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus", 5)
    async with running_jobs(temporal_client, tmp_path / "home") as jobs:
        handle = await jobs.start(spec(corpus=[str(corpus)], ingest_engine_min_documents=10), job_id="job-small")
        await handle.result()
        state = await handle.state()
    assert state.ingest is not None and state.ingest.files == 5 and not state.ingest.warnings
