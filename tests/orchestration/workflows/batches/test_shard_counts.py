"""The shard-counter rule, written once (`ShardState.count`) for the batch workflow (a shard run
that ended) and the client (a shard run still going, read from its query)."""

from __future__ import annotations

from orchestration.shared.batch import ShardCounters, ShardState
from orchestration.shared.usage import Usage


def _run(done: int, failed: int, calls: int = 0) -> ShardCounters:
    return ShardCounters(done=done, failed=failed, reused=1, chunks=2, usage=Usage(model_calls=calls))


def test_first_runs_and_runs_after_a_budget_stop_add_up() -> None:
    shard = ShardState(index=0, start=0, end=20)
    shard.count(_run(6, 2, calls=6), retry=False, finished=True)  # stopped by its budget share
    shard.count(_run(10, 2, calls=10), retry=False, finished=True)  # went on from the cursor
    assert (shard.done, shard.failed, shard.reused, shard.chunks, shard.usage.model_calls) == (16, 4, 2, 4, 16)


def test_a_retry_pass_replaces_the_failures_once_it_ends_and_adds_none_while_it_runs() -> None:
    shard = ShardState(index=0, start=0, end=20, done=16, failed=4)
    live = shard.model_copy(deep=True)
    live.count(_run(3, 0), retry=True, finished=False)  # the client, mid-pass: the 4 failures still stand
    assert (live.done, live.failed) == (19, 4)
    shard.count(_run(3, 1), retry=True, finished=True)  # the pass ended: 1 of the 4 still fails
    assert (shard.done, shard.failed) == (19, 1)
