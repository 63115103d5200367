"""Shards continue as new under a low history limit (and every K activities), carrying counters and cursor only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.client import Client

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
    """A private server that suggests continue-as-new after 50 events (default 4,096)."""
    async with private_server(tmp_path_factory.mktemp("batch-can-server"), 50) as client:
        yield client


async def test_shards_continue_as_new_and_lose_nothing(low_limit_client: Client, tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus", 48)
    async with batch_workers(low_limit_client, tmp_path / "home") as (batches, deps):
        # Shard 0 (24 documents, one per activity) is held by the server's limit; shard 1 by K=5.
        spec = small_spec(micro_batch=1, shard_size=24, parallelism=2, continue_every=5, reduce_fanin=50)
        handle = await start(batches, deps, spec, [str(corpus)], "batch-can")
        result = await handle.result()

    assert (result.done, result.failed) == (48, 0)
    assert len(records(deps, "batch-can")) == 48
    for shard in ("batch-can/shard-0", "batch-can/shard-1"):
        lengths, ends = await runs_of(low_limit_client, shard)
        assert len(lengths) >= 5, f"{shard} should have continued as new at least 4 times: {lengths}"
        assert max(lengths) <= 60, lengths  # each run stays small whatever the slice's size
        assert all(e == CONTINUED for e in ends[:-1])
        assert ends[-1] == COMPLETED
