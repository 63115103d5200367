"""A batch's budget on the real dev server: each shard run gets a share of what is left and
starts no micro-batch past it; the batch waits in awaiting_budget, a raise lets it finish
with every document analysed once; without a raise it ends budget_exceeded, results kept."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from temporalio.client import Client

from orchestration.batch_client import BatchHandle
from orchestration.client import JobClosedError
from orchestration.shared.batch import BatchProgress
from orchestration.shared.usage import BudgetChange
from tests.support.batches import batch_workers, records, refusal, small_spec, start, write_corpus

pytestmark = pytest.mark.timeout(120)
DOCS, LIMIT = 40, 12
# The most a budget can be overshot: the micro-batches in flight when it is reached.
IN_FLIGHT = 2 * 4  # parallelism x micro_batch, each document one summarize call


async def _until(handle: BatchHandle, phase: str) -> BatchProgress:
    while (progress := await handle.progress()).phase != phase:
        assert progress.phase in ("analysing", "awaiting_budget", "reducing"), progress.error
        await asyncio.sleep(0.1)
    return progress


async def test_budget_stops_new_documents_and_a_raise_finishes_the_batch(
    temporal_client: Client, tmp_path: Path
) -> None:
    corpus = write_corpus(tmp_path / "corpus", DOCS)
    async with batch_workers(temporal_client, tmp_path / "home") as (batches, deps):
        spec = small_spec(budget={"max_model_calls": LIMIT, "wait_for_raise": 60})
        handle = await start(batches, deps, spec, [str(corpus)], "batch-budget")
        stopped = await _until(handle, "awaiting_budget")
        assert stopped.budget_note and stopped.budget_note.startswith("model calls")
        assert LIMIT <= stopped.usage.model_calls <= LIMIT + IN_FLIGHT, stopped.usage
        assert stopped.done == stopped.usage.model_calls < DOCS  # one summarize call per document
        await asyncio.sleep(1.0)  # nothing new starts while it waits
        assert (await handle.progress()).done == stopped.done
        assert "is not above what the job has spent" in await refusal(
            handle.raise_budget(BudgetChange(max_model_calls=stopped.usage.model_calls))
        )
        await handle.raise_budget(BudgetChange(max_model_calls=1_000))
        result = await handle.result()

    assert (result.status, result.done, result.failed) == ("completed", DOCS, 0)
    recs = records(deps, "batch-budget")
    assert [r["index"] for r in recs] == list(range(DOCS))  # each document once, across the stop
    doc_calls = sum(r["usage"]["calls"] for r in recs)
    assert doc_calls == DOCS  # nobody analysed twice: the next run went on from the stopped one's cursor
    assert result.usage.model_calls - doc_calls >= 10 + 3 + 1  # every reduce step of the tree, after the raise


async def test_no_raise_ends_budget_exceeded_with_the_results_so_far(temporal_client: Client, tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus", DOCS)
    async with batch_workers(temporal_client, tmp_path / "home") as (batches, deps):
        spec = small_spec(budget={"max_model_calls": LIMIT, "wait_for_raise": 0})
        handle = await start(batches, deps, spec, [str(corpus)], "batch-budget-spent")
        result = await handle.result()
        with pytest.raises(JobClosedError, match="has already ended"):
            await handle.raise_budget(BudgetChange(max_model_calls=1_000))

    assert result.status == "budget_exceeded" and result.report is None
    assert result.error and "budget spent (model calls" in result.error
    assert LIMIT <= result.usage.model_calls <= LIMIT + IN_FLIGHT
    recs = records(deps, "batch-budget-spent")
    assert len(recs) == result.done < DOCS and all(r["ok"] for r in recs)  # what was done is kept
