"""A batch end to end on the real dev server: shards, micro-batches, a reduce tree, approval, publish."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from temporalio.client import Client

from orchestration.shared.batch import results_collection
from tests.support.batches import (
    batch_workers,
    records,
    refusal,
    result_files,
    small_spec,
    start,
    write_corpus,
)

pytestmark = pytest.mark.timeout(120)


async def test_batch_analyses_every_document_reduces_waits_for_approval_and_publishes(
    temporal_client: Client, tmp_path: Path
) -> None:
    corpus = write_corpus(tmp_path / "corpus", 37)
    async with batch_workers(temporal_client, tmp_path / "home") as (batches, deps):
        spec = small_spec(graph="extract-claims@1", question="", approval={"required": True})
        handle = await start(batches, deps, spec, [str(corpus)], "batch-e2e")
        while (progress := await handle.progress()).phase != "awaiting_approval":
            assert progress.phase in ("analysing", "reducing"), progress.error
            await asyncio.sleep(0.2)
        assert (progress.total, progress.done, progress.failed) == (37, 37, 0)
        assert len(progress.shards) == 4 and all(sh.status == "done" for sh in progress.shards)
        # Pausing a batch that finished analysing, resuming one that is not paused and
        # retrying a batch with no failures are refused by the update validators.
        assert "cannot pause: the batch is awaiting_approval" in await refusal(handle.pause())
        assert "not paused" in await refusal(handle.resume())
        assert "no document has failed" in await refusal(handle.retry_failed())
        await handle.approve(by="tester")
        result = await handle.result()
        state = await handle.state()  # a query replays on a worker: ask before they stop

    assert result.status == "completed" and (result.done, result.failed) == (37, 0)
    assert result.published == ["artifact", "index", "notify"]
    # One record and one result per document (every document here has distinct content).
    recs = records(deps, "batch-e2e")
    assert [r["index"] for r in recs] == list(range(37)) and all(r["ok"] for r in recs)
    assert len(result_files(deps, "batch-e2e")) == 37
    # Extracted claims quote their documents verbatim.
    first = json.loads(deps.artifacts.get_text(recs[0]["result"]))
    text = (corpus / "doc-00000.md").read_text()
    assert first["analysis"]["claims"] and all(c["quote"].rstrip(".") in " ".join(text.split())
                                               for c in first["analysis"]["claims"])  # fmt: skip
    # The reduce tree: 10 groups of <= 4 documents, then 3, then 1 (no step saw more than 4 inputs).
    assert state.reductions == 10 + 3 + 1
    report = deps.artifacts.get_text(result.report.key) if result.report else ""
    assert "37 of 37 documents analysed with `extract-claims@1`" in report
    # What the batch spent: each document's runs (its record says) plus the reduce steps, in the footer too.
    per_doc = sum(r["usage"]["calls"] for r in recs)
    assert per_doc >= 37 and result.usage.model_calls == per_doc + state.reduce_usage.model_calls
    assert state.reduce_usage.model_calls >= state.reductions
    assert f"Spent on this report (all runs so far): {result.usage.line()}" in report
    # Results are indexed for chaining, and the report was published once.
    assert deps.memory(results_collection("batch-e2e")).count() == 37
    assert deps.artifacts.exists("published/batch-e2e.md")
    assert len(deps.artifacts.keys("outbox/batch-e2e")) == 1
