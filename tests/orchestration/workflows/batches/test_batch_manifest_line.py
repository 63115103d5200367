"""A manifest with one unreadable line among many: that document fails with its reason; the batch completes."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import Client

from tests.support.batches import batch_workers, records, small_spec, start, write_corpus

pytestmark = pytest.mark.timeout(120)


async def test_bad_manifest_line_is_a_document_failure(temporal_client: Client, tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus", 20)
    listed = [f"corpus/{p.name}" for p in sorted(corpus.iterdir())]
    listed.insert(7, "corpus/vanished.md")  # relative lines resolve against the manifest's folder
    manifest = tmp_path / "list.txt"
    manifest.write_text("# twenty documents and one that is gone\n" + "\n".join(listed) + "\n")
    async with batch_workers(temporal_client, tmp_path / "home") as (batches, deps):
        handle = await start(batches, deps, small_spec(), [f"manifest:{manifest}"], "batch-manifest-line")
        result = await handle.result()

    assert (result.status, result.total, result.done, result.failed) == ("completed", 21, 20, 1)
    failed = [r for r in records(deps, "batch-manifest-line") if not r["ok"]]
    assert [(r["index"], r["source"]) for r in failed] == [(7, "corpus/vanished.md")]
    assert "not a readable file" in failed[0]["error"]
