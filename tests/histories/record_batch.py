"""Record the committed batch histories that tests/orchestration/workflows/replay/test_batch_replay.py guards.

Run `.venv/bin/python -m tests.histories.record_batch` after an intended change to the batch
workflows that is versioned with `workflow.patched()`; never to paper over a replay failure.
They live in `batch/`, apart from the research job's histories (test_replay.py replays those).

It records the current code path only: `batch_parent_overlap` (patch `batch-reduce-overlap`: the
reduce child started with the analysis and told each finished shard's range) and that child's
`batch_reduce_overlap_first_run` and `batch_reduce_overlap_last_run`, from a parent whose tree
continues as new, with a graph swap checked by an activity and a revise; and its first shard's
`batch_shard_window_first_run` and `batch_shard_window_last_run` (patch `shard-window`: two
micro-batches at once, drained before each continue-as-new, a pause between). The other files were
recorded by earlier code and are kept as they are, since batches started before each patch must
keep replaying: `batch_parent` and `batch_shard_*` before `batch-reduce-child` (the parent reduced
by itself); `batch_parent_bounded` and `batch_reduce_first_run`/`_last_run` before `reduce-window`
(steps in waves); `batch_reduce_window_*` before `batch-reduce-overlap` (the tree after the analysis);
`batch_parent_usage_footer` by the code of 3807a18 (patch `batch-usage-footer`, reached only by the
tree the parent ran itself, before `batch-reduce-child`).

`python -m tests.histories.record_batch budget` records only `batch_parent_budget` (patch
`batch-budget`: a batch with a limit stops at it, waits in awaiting_budget, and finishes after a
raise), the one batch path the recording above does not take.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

from temporalio.client import Client

from orchestration.payloads.converter import data_converter
from orchestration.server import EmbeddedServer
from orchestration.shared.usage import BudgetChange
from tests.conftest import make_settings
from tests.support.batches import batch_workers, small_spec, start, write_corpus
from tests.support.jobs import make_deps

HERE = Path(__file__).parent / "batch"
JOB = "history-batch-v3"


@contextlib.asynccontextmanager
async def _recording() -> AsyncIterator[tuple[Client, Path]]:
    """A throwaway embedded server and a client on it, with a temporary folder for the batch."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = make_settings(Path(tmp) / "server")
        server = EmbeddedServer(settings)
        address = server.ensure_started().address
        try:
            yield await Client.connect(address, data_converter=data_converter(settings)), Path(tmp)
        finally:
            server.stop()


async def record() -> None:
    async with _recording() as (client, tmp):
        corpus = write_corpus(tmp / "corpus", 24)
        home = tmp / "home"
        # A slow fake model leaves time to swap the graph while shard 1 has not started.
        async with batch_workers(client, home, deps=make_deps(home, latency_s=0.05)) as (batches, deps):
            # Two shards one at a time, each with two micro-batches in flight and continuing as new
            # after 2 activities; a swap checked by the workflow; a pause and a resume; a reduce tree
            # of 6 + 2 + 1 steps, started with the analysis, whose child continues as new after every
            # 2; approval waited for, a revise (the final step again), then approval.
            spec = small_spec(
                shard_size=12, micro_batch=3, continue_every=2, parallelism=1, approval={"required": True}
            )
            handle = await start(batches, deps, spec, [str(corpus)], JOB)
            while (await handle.progress()).done < 3:
                await asyncio.sleep(0.05)
            await handle.swap_graph("extract-claims@1")
            await handle.pause()  # told to the shards and to the reduce child, which started with them
            await asyncio.sleep(0.3)
            await handle.resume()
            while (await handle.progress()).phase != "awaiting_approval":
                await asyncio.sleep(0.2)
            await handle.revise(by="recorder", notes="Lead with what retries guarantee.")
            while len((await handle.state()).revisions) < 1 or (await handle.progress()).phase != "awaiting_approval":
                await asyncio.sleep(0.2)
            await handle.approve(by="recorder")
            await handle.result()
        HERE.mkdir(exist_ok=True)
        reduce = client.get_workflow_handle(f"{JOB}/reduce-0")
        first_run = (await reduce.describe()).raw_description.workflow_execution_info.first_run_id
        histories = {
            "batch_parent_overlap": await client.get_workflow_handle(JOB).fetch_history(),
            "batch_reduce_overlap_first_run": await client.get_workflow_handle(
                f"{JOB}/reduce-0", run_id=first_run
            ).fetch_history(),
            "batch_reduce_overlap_last_run": await reduce.fetch_history(),
        }
        shard = client.get_workflow_handle(f"{JOB}/shard-0")
        first_run = (await shard.describe()).raw_description.workflow_execution_info.first_run_id
        histories["batch_shard_window_first_run"] = await client.get_workflow_handle(
            f"{JOB}/shard-0", run_id=first_run
        ).fetch_history()
        histories["batch_shard_window_last_run"] = await shard.fetch_history()
        for name, history in histories.items():
            (HERE / f"{name}.json").write_text(history.to_json())
            print(f"recorded {name}: {len(history.events)} events")


async def record_budget() -> None:
    async with _recording() as (client, tmp):
        corpus = write_corpus(tmp / "corpus", 16)
        home = tmp / "home"
        async with batch_workers(client, home) as (batches, deps):
            spec = small_spec(budget={"max_model_calls": 6, "wait_for_raise": 60})
            handle = await start(batches, deps, spec, [str(corpus)], f"{JOB}-budget")
            while (await handle.progress()).phase != "awaiting_budget":
                await asyncio.sleep(0.1)
            await handle.raise_budget(BudgetChange(max_model_calls=1_000))
            await handle.result()
        HERE.mkdir(exist_ok=True)
        history = await client.get_workflow_handle(f"{JOB}-budget").fetch_history()
        (HERE / "batch_parent_budget.json").write_text(history.to_json())
        print(f"recorded batch_parent_budget: {len(history.events)} events")


if __name__ == "__main__":
    asyncio.run(record_budget() if sys.argv[1:] == ["budget"] else record())
