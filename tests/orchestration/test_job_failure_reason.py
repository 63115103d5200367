"""A failed job says why: the root cause from the failure chain, not "Activity task failed"."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import Client

from orchestration.client import JobEndedError
from tests.orchestration.jobs import running_jobs, spec


async def test_an_ingest_that_finds_no_text_is_named(temporal_client: Client, tmp_path: Path) -> None:
    corpus = tmp_path / "binary-only"
    corpus.mkdir()
    (corpus / "blob.bin").write_bytes(bytes(range(256)) * 64)
    async with running_jobs(temporal_client, tmp_path) as jobs:
        handle = await jobs.start(spec(corpus=[str(corpus)]))
        with pytest.raises(JobEndedError) as ended:
            await handle.result()
    message = str(ended.value)
    assert "io.ingest_corpus failed" in message
    assert "hold no text" in message, message
    assert "Activity task failed" not in message
