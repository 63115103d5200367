"""Documents that fail are recorded with their reason, the batch goes on, and `retry_failed` re-runs only them."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from temporalio.client import Client

from tests.support import batch_graphs
from tests.support.batches import batch_workers, records, refusal, small_spec, start, write_corpus

pytestmark = pytest.mark.timeout(120)


async def _phase(handle, phase: str, retry_round: int = 0):  # type: ignore[no-untyped-def]
    while True:
        p = await handle.progress()
        if p.phase == phase and p.retry_round == retry_round:
            return p
        assert p.phase not in ("failed", "completed"), p.error
        await asyncio.sleep(0.2)


async def test_failed_documents_are_listed_then_retried_alone(temporal_client: Client, tmp_path: Path) -> None:
    marked = {3, 17, 25}
    corpus = write_corpus(tmp_path / "corpus", 30, fail_marker=marked)
    batch_graphs.BROKEN["on"] = True
    batch_graphs.RUNS.clear()
    async with batch_workers(temporal_client, tmp_path / "home") as (batches, deps):
        spec = small_spec(graph="flaky-summary@1", approval={"required": True})
        handle = await start(batches, deps, spec, [str(corpus)], "batch-retry")
        first = await _phase(handle, "awaiting_approval")
        assert (first.done, first.failed) == (27, 3)
        failed = [r for r in records(deps, "batch-retry") if not r["ok"]]
        assert {r["index"] for r in failed} == marked
        assert all("injected failure for a marked document" in r["error"] for r in failed)
        report_v0 = first.report.key if first.report else ""

        batch_graphs.BROKEN["on"] = False  # the fix
        assert await handle.retry_failed() == 3
        second = await _phase(handle, "awaiting_approval", retry_round=1)
        assert (second.done, second.failed) == (30, 0)
        assert "no document has failed" in await refusal(handle.retry_failed())
        await handle.approve()
        result = await handle.result()

    assert (result.status, result.done, result.failed) == ("completed", 30, 0)
    assert result.report is not None and result.report.key != report_v0  # reduced again after the retry
    assert "30 of 30 documents analysed" in deps.artifacts.get_text(result.report.key)
    assert all(r["ok"] for r in records(deps, "batch-retry"))
    # Documents that had succeeded were not analysed again; a marked one ran twice (doc_attempts)
    # before it was recorded as failed, and once more in the retry pass.
    runs = {int(Path(source).stem.split("-")[1]): n for source, n in batch_graphs.RUNS.items()}
    assert runs == {i: 3 if i in marked else 1 for i in range(30)}
