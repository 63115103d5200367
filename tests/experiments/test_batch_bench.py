"""The batch benchmark runs end to end on a small corpus, and docs/benchmarks.md quotes the committed results."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from experiments.benchmarks.batch_bench import RESULTS_FILE, readme_lines, run
from tests.support.published import page


@pytest.mark.timeout(180)
def test_quick_profile_measures_the_batch_the_noop_limit_history_and_ingest(tmp_path: Path) -> None:
    result = asyncio.run(
        run(
            docs=120,
            parallelism=2,
            micro_batch=10,
            folder=tmp_path,
            crash=False,
            memory="local",
            ingest_docs=8,
            repeat=2,
        )
    )
    batch = result["batch"]
    assert (batch["status"], batch["done"], batch["failed"]) == ("completed", 120, 0)
    assert result["noop_limit"]["activities"] >= 120 and result["noop_limit"]["per_s"] > 0
    # Each arm ran twice, in turn; the ratio compares each arm's best run, and both pairs are kept.
    pairs = result["pairs"]
    assert len(pairs) == 2
    assert batch["docs_per_s"] == max(p["docs_per_s"] for p in pairs)
    assert result["noop_limit"]["per_s"] == max(p["noop_per_s"] for p in pairs)
    assert result["ratio"] == round(batch["docs_per_s"] / result["noop_limit"]["per_s"], 2)
    assert batch["workflows"] >= 2 and 0 < batch["largest_history_events"] < 10_240
    # The parent and the reduce child are measured apiece: 120 documents in 6 shards, one reduce child run.
    assert 0 < batch["parent_history_events"] <= batch["largest_history_events"]
    assert batch["reduce_runs"] == 1 and 0 < batch["reduce_history_events"] <= batch["largest_history_events"]
    assert 0 < result["peak_rss_mb"] < 1024
    ingest = result["ingest"]
    # The engine's ingest stores exactly the chunks the direct path does.
    assert ingest["chunks_engine"] == ingest["chunks_direct"] == ingest["stored_engine"] == ingest["stored_direct"]
    assert ingest["chunks_direct"] >= 8 * 5


def test_readme_quotes_the_committed_results() -> None:
    result = json.loads(RESULTS_FILE.read_text())
    readme = page("benchmarks.md")
    for line in readme_lines(result):
        assert line in readme, f"docs/benchmarks.md does not quote {RESULTS_FILE.name}: {line}"
