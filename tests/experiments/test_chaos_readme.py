"""docs/benchmarks.md quotes the committed chaos run: its summary line must be the one the results
file holds, and that line must follow from the file's numbers."""

from __future__ import annotations

import json
from pathlib import Path

from experiments.benchmarks.chaos import summary_line
from tests.support.published import page

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "experiments" / "benchmarks" / "results" / "chaos.json"


def test_readme_quotes_the_committed_chaos_results() -> None:
    results = json.loads(RESULTS.read_text())
    assert results["summary"] == summary_line(results), "the stored summary does not follow from the numbers"
    readme = page("benchmarks.md")
    assert results["summary"] in readme, "docs/benchmarks.md must quote the committed chaos summary line verbatim"


def test_committed_run_is_a_full_run() -> None:
    results = json.loads(RESULTS.read_text())
    assert results["config"]["profile"] == "full"
    assert results["faults"]["total"] >= 200
    assert results["faults"]["total"] == results["faults"]["planned"]
    assert results["faults"]["server_kills"] > 0 and results["faults"]["pauses"] > 0
