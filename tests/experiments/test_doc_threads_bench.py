"""The documents-in-threads benchmark runs on a small profile, and docs/benchmarks.md quotes its committed results."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from experiments.benchmarks.doc_threads_bench import QUICK, RESULTS_FILE, readme_lines, run
from tests.support.published import page


@pytest.mark.timeout(240)
def test_quick_profile_compares_threads_with_one_document_at_a_time(tmp_path: Path) -> None:
    result = asyncio.run(run(QUICK, tmp_path))
    assert [c["latency_s"] for c in result["cases"]] == [latency for latency, _ in QUICK]
    for case in result["cases"]:
        for arm in ("one_at_a_time", "threads"):
            assert (case[arm]["status"], case[arm]["done"], case[arm]["failed"]) == ("completed", case["documents"], 0)
        assert case["ratio"] == round(case["threads"]["docs_per_s"] / case["one_at_a_time"]["docs_per_s"], 2)
    assert len(readme_lines(result)) == len(QUICK)


def test_readme_quotes_the_committed_results() -> None:
    committed = json.loads(RESULTS_FILE.read_text())
    readme = page("benchmarks.md")
    for line in readme_lines(committed):
        assert line in readme, line
