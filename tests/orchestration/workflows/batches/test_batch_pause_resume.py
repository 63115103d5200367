"""Pause stops new micro-batches (the running one finishes); resume goes on; validators refuse misuse."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from temporalio.client import Client

from tests.support.batches import batch_workers, records, refusal, small_spec, start, write_corpus
from tests.support.jobs import make_deps

pytestmark = pytest.mark.timeout(120)


async def test_pause_holds_the_batch_and_resume_finishes_it(temporal_client: Client, tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus", 40)
    deps = make_deps(tmp_path / "home", latency_s=0.05)  # ~0.1 s per document (two model-free nodes + one call)
    async with batch_workers(temporal_client, tmp_path / "home", deps=deps) as (batches, _):
        spec = small_spec(micro_batch=2, shard_size=20, parallelism=2)
        handle = await start(batches, deps, spec, [str(corpus)], "batch-pause")
        while (await handle.progress()).done < 6:
            await asyncio.sleep(0.1)
        paused = await handle.pause()
        assert paused.paused and paused.phase == "analysing"
        assert "already paused" in await refusal(handle.pause())
        await asyncio.sleep(1.0)  # the micro-batches in flight finish
        held = len(records(deps, "batch-pause"))
        await asyncio.sleep(1.5)
        assert len(records(deps, "batch-pause")) == held < 40  # nothing new while paused
        resumed = await handle.resume()
        assert not resumed.paused
        assert "not paused" in await refusal(handle.resume())
        result = await handle.result()

    assert (result.status, result.done, result.failed) == ("completed", 40, 0)
    assert len(records(deps, "batch-pause")) == 40
