"""Cancelling a batch cancels its children (shards, the reduce tree); finished documents' results stay."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from temporalio.client import Client, WorkflowExecutionStatus

from orchestration.client import JobEndedError
from tests.support.batches import batch_workers, records, result_files, small_spec, start, write_corpus
from tests.support.jobs import make_deps

pytestmark = pytest.mark.timeout(120)


async def test_cancel_stops_children_and_keeps_partial_results(temporal_client: Client, tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus", 40)
    deps = make_deps(tmp_path / "home", latency_s=0.05)
    async with batch_workers(temporal_client, tmp_path / "home", deps=deps) as (batches, _):
        spec = small_spec(micro_batch=2, shard_size=20, parallelism=2)
        handle = await start(batches, deps, spec, [str(corpus)], "batch-cancel")
        while (await handle.progress()).done < 6:
            await asyncio.sleep(0.1)
        await handle.cancel()
        with pytest.raises(JobEndedError, match="cancelled"):
            await handle.result()
        # The shards, and the reduce tree started with them; a child still running when the batch
        # closed gets its cancel request then: wait for it.
        children = [f"batch-cancel/shard-{i}" for i in (0, 1)] + ["batch-cancel/reduce-0"]
        handles = [temporal_client.get_workflow_handle(c) for c in children]
        for _ in range(100):
            statuses = [(await s.describe()).status for s in handles]
            if WorkflowExecutionStatus.RUNNING not in statuses:
                break
            await asyncio.sleep(0.1)

    assert statuses == [WorkflowExecutionStatus.CANCELED] * 3
    kept = records(deps, "batch-cancel")
    assert 6 <= len(kept) < 40 and all(r["ok"] for r in kept)
    # Every recorded document's result stays; results of documents analysed but not yet recorded
    # (documents are recorded in groups) stay too, for a later run to read back.
    assert {r["result"] for r in kept} <= set(result_files(deps, "batch-cancel"))


async def test_cancel_while_reducing_cancels_the_reduce_child(temporal_client: Client, tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus", 16)
    deps = make_deps(tmp_path / "home", latency_s=0.1)  # every reduce step waits on the (slow) fake model
    async with batch_workers(temporal_client, tmp_path / "home", deps=deps) as (batches, _):
        # 8 + 4 + 2 + 1 steps. A budget keeps the whole tree after the analysis: started with the
        # analysis, most of it would be done before the batch is `reducing`, too short a window to
        # cancel in on a loaded machine (the overlapped child's cancel is the test above).
        spec = small_spec(micro_batch=8, shard_size=8, parallelism=2, reduce_fanin=2, budget={"max_model_calls": 10**6})
        handle = await start(batches, deps, spec, [str(corpus)], "batch-cancel-reduce")
        while (await handle.progress()).phase != "reducing":
            await asyncio.sleep(0.05)
        await handle.cancel()
        with pytest.raises(JobEndedError, match="cancelled"):
            await handle.result()
        reduce = temporal_client.get_workflow_handle("batch-cancel-reduce/reduce-0")
        for _ in range(100):
            status = (await reduce.describe()).status
            if status != WorkflowExecutionStatus.RUNNING:
                break
            await asyncio.sleep(0.1)

    assert status == WorkflowExecutionStatus.CANCELED
    assert len(records(deps, "batch-cancel-reduce")) == 16  # the analysis had finished: every result stays
    assert not deps.artifacts.exists("published/batch-cancel-reduce.md")
