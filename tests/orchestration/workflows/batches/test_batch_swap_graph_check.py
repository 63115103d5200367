"""swap_graph checks the graph in the workflow (where it will run), not only in the CLI: an unknown or
unfit graph sent by any client fails the update with the check's reason, and nothing changes."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from temporalio.client import Client

from tests.support import batch_graphs  # noqa: F401  (registers misfit@1 in this process's workers)
from tests.support.batches import batch_workers, records, refusal, small_spec, start, write_corpus
from tests.support.jobs import make_deps

pytestmark = pytest.mark.timeout(120)


async def test_unfit_or_unknown_graph_is_refused_and_nothing_changes(temporal_client: Client, tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus", 20)
    deps = make_deps(tmp_path / "home", latency_s=0.05)
    async with batch_workers(temporal_client, tmp_path / "home", deps=deps) as (batches, _):
        spec = small_spec(micro_batch=2, shard_size=10, parallelism=1)
        handle = await start(batches, deps, spec, [str(corpus)], "batch-swap-check")
        while (await handle.progress()).done < 2:
            await asyncio.sleep(0.1)
        # BatchHandle sends the update as any client would, with no check of its own.
        misfit = await refusal(handle.swap_graph("misfit@1"))
        assert misfit.startswith("cannot swap to misfit@1: graph misfit@1 returns _Other, which lacks"), misfit
        unknown = await refusal(handle.swap_graph("nope@1"))
        assert unknown.startswith("cannot swap to nope@1: No graph is registered as 'nope@1'"), unknown
        progress, state = await handle.progress(), await handle.state()
        assert (progress.phase, progress.graph, state.swaps) == ("analysing", "summarize@1", [])
        result = await handle.result()

    assert (result.status, result.done, result.failed) == ("completed", 20, 0)
    assert {r["graph"] for r in records(deps, "batch-swap-check")} == {"summarize@1"}
