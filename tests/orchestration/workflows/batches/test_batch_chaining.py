"""A batch's results collection is a research job's corpus (chaining); --reuse skips analysed content."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import Client

from orchestration.shared.batch import results_collection
from reasoning import Finding
from tests.support.batches import batch_workers, records, small_spec, start, write_corpus
from tests.support.jobs import running_jobs, spec

pytestmark = pytest.mark.timeout(120)


async def test_research_job_reads_a_batch_results(temporal_client: Client, tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus", 12)
    async with batch_workers(temporal_client, tmp_path / "home") as (batches, deps):
        batch = await start(batches, deps, small_spec(graph="extract-claims@1"), [str(corpus)], "batch-chain")
        assert (await batch.result()).done == 12
    async with running_jobs(temporal_client, tmp_path / "home", deps=deps) as jobs:
        job = await jobs.start(
            spec(corpus=[], collection=results_collection("batch-chain"), question="How are retries of items kept?"),
            job_id="research-after-batch",
        )
        result = await job.result()

    assert result.status == "completed"
    findings = [Finding.model_validate_json(deps.artifacts.get_text(t.result.finding_key))
                for t in result.subtasks if t.result]  # fmt: skip
    cited = {c.source for f in findings for c in f.citations}
    assert cited and cited <= {str(p) for p in corpus.iterdir()}  # evidence = the batch's documents


async def test_reuse_skips_documents_whose_content_has_a_result(temporal_client: Client, tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus", 10)
    async with batch_workers(temporal_client, tmp_path / "home") as (batches, deps):
        first = await start(batches, deps, small_spec(), [str(corpus)], "batch-reuse-a")
        await first.result()
        (corpus / "doc-new.md").write_text("# New\n\nA new document about queues and workers in a system.\n")
        second = await start(batches, deps, small_spec(reuse_job="batch-reuse-a"), [str(corpus)], "batch-reuse-b")
        result = await second.result()

    assert (result.done, result.reused) == (11, 10)
    reused = [r for r in records(deps, "batch-reuse-b") if r.get("reused")]
    assert len(reused) == 10
