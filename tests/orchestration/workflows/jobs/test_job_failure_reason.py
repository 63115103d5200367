"""A failed job says why: the root cause from the failure chain, not "Activity task failed"."""

from __future__ import annotations

from pathlib import Path

import pytest
from pypdf import PdfWriter
from temporalio.client import Client

from orchestration.client import JobEndedError
from tests.support.jobs import running_jobs, spec


async def test_an_ingest_that_finds_no_text_is_named(temporal_client: Client, tmp_path: Path) -> None:
    # A scanned PDF (a page with no text layer) passes the start-time check, which only sniffs a
    # file's first bytes, and is found empty only when ingest extracts it inside the workflow.
    corpus = tmp_path / "scans"
    corpus.mkdir()
    writer = PdfWriter()
    writer.add_blank_page(width=612, height=792)
    writer.write(corpus / "scan.pdf")
    async with running_jobs(temporal_client, tmp_path) as jobs:
        handle = await jobs.start(spec(corpus=[str(corpus)]))
        with pytest.raises(JobEndedError) as ended:
            await handle.result()
    message = str(ended.value)
    assert "io.ingest_corpus failed" in message
    assert "hold no text" in message, message
    assert "Activity task failed" not in message
