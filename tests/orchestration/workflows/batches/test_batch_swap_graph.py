"""swap_graph: documents not yet started use the new graph; finished ones keep theirs."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from temporalio.client import Client

from tests.support.batches import batch_workers, records, small_spec, start, write_corpus
from tests.support.jobs import make_deps

pytestmark = pytest.mark.timeout(120)


async def test_swap_applies_to_documents_not_yet_started(temporal_client: Client, tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus", 30)
    deps = make_deps(tmp_path / "home", latency_s=0.05)
    async with batch_workers(temporal_client, tmp_path / "home", deps=deps) as (batches, _):
        spec = small_spec(micro_batch=2, shard_size=10, parallelism=1)
        handle = await start(batches, deps, spec, [str(corpus)], "batch-swap")
        while (await handle.progress()).done < 4:
            await asyncio.sleep(0.1)
        unstarted = await handle.swap_graph("extract-claims@1")
        assert unstarted == 20  # two whole shards had not started
        result = await handle.result()

    assert result.done == 30
    graphs = [r["graph"] for r in records(deps, "batch-swap")]
    first_new = graphs.index("extract-claims@1")
    assert 4 <= first_new < 30
    assert set(graphs[:first_new]) == {"summarize@1"} and set(graphs[first_new:]) == {"extract-claims@1"}
    report = deps.artifacts.get_text(result.report.key) if result.report else ""
    assert "analysed with `extract-claims@1`" in report
