"""A shard keeps up to `window` micro-batches in flight, counts them in manifest order, drains
before it continues as new, and runs one at a time under a budget."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from tests.support.batches import CONTINUED, batch_workers, records, small_spec, start, write_corpus
from tests.support.jobs import make_deps

pytestmark = pytest.mark.timeout(150)

_OPENS = {EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED}
_CLOSES = {
    EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
    EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED,
    EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT,
    EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED,
}


async def _shard_runs(client: Client, workflow_id: str) -> list[tuple[int, EventType.ValueType]]:
    """(most micro-batches open at once, last event) of every run of a shard, oldest first."""
    runs = []
    async for wf in client.list_workflows(f'WorkflowId="{workflow_id}"'):
        history = await client.get_workflow_handle(workflow_id, run_id=wf.run_id).fetch_history()
        open_now = most = 0
        for event in history.events:
            open_now += (event.event_type in _OPENS) - (event.event_type in _CLOSES)
            most = max(most, open_now)
        assert open_now == 0, "a run ended with a micro-batch still open"
        runs.append((wf.start_time, most, history.events[-1].event_type))
    return [(most, end) for _, most, end in sorted(runs)]


async def test_a_shard_keeps_its_window_in_flight_and_drains_before_continuing(
    temporal_client: Client, tmp_path: Path
) -> None:
    corpus = write_corpus(tmp_path / "corpus", 30)
    deps = make_deps(tmp_path / "home", latency_s=0.02)  # slow enough for micro-batches to overlap
    async with batch_workers(temporal_client, tmp_path / "home", deps=deps) as (batches, _):
        # One shard of 30: ten micro-batches of 3, three at a time, continuing as new after 4.
        spec = small_spec(micro_batch=3, shard_size=30, parallelism=1, window=3, continue_every=4)
        handle = await start(batches, deps, spec, [str(corpus)], "batch-window")
        seen = 0
        while not (progress := await handle.progress()).analysed_at:
            seen = max(seen, progress.running)
            assert progress.running <= 9, progress  # window x micro-batch
            await asyncio.sleep(0.02)
        result = await handle.result()

    assert (result.status, result.done, result.failed) == ("completed", 30, 0)
    assert [r["index"] for r in records(deps, "batch-window")] == list(range(30))
    runs = await _shard_runs(temporal_client, "batch-window/shard-0")
    assert [end for _, end in runs[:-1]] == [CONTINUED] * (len(runs) - 1) and len(runs) == 3, runs
    assert max(most for most, _ in runs) == 3, runs  # the window, never more
    assert seen > 3, "the progress never showed more than one micro-batch in flight"


async def test_a_budgeted_shard_runs_one_micro_batch_at_a_time(temporal_client: Client, tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus", 12)
    deps = make_deps(tmp_path / "home", latency_s=0.02)
    async with batch_workers(temporal_client, tmp_path / "home", deps=deps) as (batches, _):
        # A limit the batch never reaches: its shards still take one micro-batch at a time, so a
        # budget that is reached is overshot by one micro-batch per shard at most.
        spec = small_spec(micro_batch=2, shard_size=12, parallelism=1, window=4, budget={"max_model_calls": 10_000})
        result = await (await start(batches, deps, spec, [str(corpus)], "batch-window-budget")).result()

    assert (result.status, result.done) == ("completed", 12)
    assert [most for most, _ in await _shard_runs(temporal_client, "batch-window-budget/shard-0")] == [1]
