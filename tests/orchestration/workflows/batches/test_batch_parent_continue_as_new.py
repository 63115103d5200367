"""The parent continues as new between rounds and during the approval wait when the server suggests it,
carrying its state: retry rounds and revisions do not pile up in one history, and progress, approval,
revise and the result read on across runs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.client import Client

from tests.support import batch_graphs
from tests.support.batches import (
    COMPLETED,
    CONTINUED,
    batch_workers,
    records,
    runs_of,
    small_spec,
    start,
    write_corpus,
)
from tests.support.processes import low_limit_client as private_server

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
async def low_limit_client(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Client]:
    """A private server that suggests continue-as-new after 12 events: a parent with two shards passes it."""
    async with private_server(tmp_path_factory.mktemp("batch-parent-can"), 12) as client:
        yield client


async def _awaiting(handle, retry_round: int, revisions: int = 0):  # type: ignore[no-untyped-def]
    while True:
        p, state = await handle.progress(), await handle.state()
        if p.phase == "awaiting_approval" and p.retry_round == retry_round and len(state.revisions) == revisions:
            return p
        assert p.phase not in ("failed", "completed"), p.error
        await asyncio.sleep(0.2)


async def test_parent_continues_as_new_between_rounds_and_while_waiting(
    low_limit_client: Client, tmp_path: Path
) -> None:
    marked = {3, 9}
    corpus = write_corpus(tmp_path / "corpus", 16, fail_marker=marked)
    batch_graphs.BROKEN["on"] = True
    async with batch_workers(low_limit_client, tmp_path / "home") as (batches, deps):
        spec = small_spec(graph="flaky-summary@1", shard_size=8, micro_batch=4, approval={"required": True})
        handle = await start(batches, deps, spec, [str(corpus)], "parent-can")
        first = await _awaiting(handle, 0)
        lengths, _ = await runs_of(low_limit_client, "parent-can")
        assert len(lengths) >= 2, lengths  # continued after the analysis, before reducing
        # The continued run kept what the first one knew: counts, shards, start time.
        assert (first.done, first.failed, len(first.shards)) == (14, 2, 2) and first.started_at is not None

        batch_graphs.BROKEN["on"] = False
        assert await handle.retry_failed() == 2
        await _awaiting(handle, 1)
        await handle.revise(by="tester", notes="Say what retries guarantee.")
        revised = await _awaiting(handle, 1, revisions=1)
        await handle.approve(by="tester")
        result = await handle.result()

    assert (result.status, result.done, result.failed) == ("completed", 16, 0)
    assert result.report is not None and result.report.key == (revised.report.key if revised.report else "")
    report = deps.artifacts.get_text(result.report.key)
    assert "16 of 16 documents analysed" in report and "notes: Say what retries guarantee." in report
    assert all(r["ok"] for r in records(deps, "parent-can"))
    lengths, ends = await runs_of(low_limit_client, "parent-can")
    assert all(e == CONTINUED for e in ends[:-1]) and ends[-1] == COMPLETED
    # Continued after the analysis, while waiting for approval, before the retry round, after the
    # revision: no run holds more than a round.
    assert len(lengths) >= 4 and max(lengths) <= 60, lengths
