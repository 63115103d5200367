"""A document's graph run again (a try inside its micro-batch, or a retried micro-batch) gets the
calls its earlier run finished back from the call log: each request is paid once, and the batch's
usage says how many calls were replayed."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from temporalio.client import Client

from reasoning.models import read_call_log
from tests.support import batch_graphs
from tests.support.batches import batch_workers, records, small_spec, start, write_corpus

DOCS = 12


async def test_a_document_tried_again_replays_its_finished_calls(temporal_client: Client, tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus", DOCS)
    failing = sorted(str(p) for p in corpus.iterdir())[::3]  # every third document fails once, after its first call
    batch_graphs.SECOND_CALL_FAILS.update(failing)
    async with batch_workers(temporal_client, tmp_path / "home") as (batches, deps):
        handle = await start(batches, deps, small_spec(graph="two-calls@1"), [str(corpus)], "batch-call-log")
        result = await handle.result()

    assert (result.status, result.done, result.failed) == ("completed", DOCS, 0)
    assert not batch_graphs.SECOND_CALL_FAILS, "every planned failure happened"
    calls = read_call_log(tmp_path / "home" / "calls.jsonl")
    paid = Counter(c["hash"] for c in calls if c["node"] == "summarize")  # the documents' (not the reduce tree's)
    assert (sum(paid.values()), max(paid.values())) == (2 * DOCS, 1), "a finished call was paid twice"
    assert result.usage.model_calls == len(calls)
    assert result.usage.replayed_calls == len(failing)
    assert all(r["ok"] for r in records(deps, "batch-call-log"))
