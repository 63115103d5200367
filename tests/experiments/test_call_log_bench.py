"""The call-log overhead benchmark runs on a small profile;
docs/concepts/recovery.md quotes its committed results."""

from __future__ import annotations

import json
from pathlib import Path

from experiments.benchmarks.call_log_bench import CALLS, RESULTS_FILE, readme_lines, run
from tests.support.published import page


def test_quick_profile_measures_every_arm_against_the_graph_without_the_log(tmp_path: Path) -> None:
    result = run("quick", tmp_path)
    arms = result["sqlite"]
    assert result["calls_per_run"] == CALLS
    for arm in ("log_miss", "log_replay"):
        assert arms[arm]["ratio_p50"] == round(arms[arm]["p50_ms"] / arms["without_log"]["p50_ms"], 2)
    assert arms["without_log"]["p50_ms"] > 0
    assert len(readme_lines(result)) == 2


def test_readme_quotes_the_committed_results() -> None:
    committed = json.loads(RESULTS_FILE.read_text())
    readme = page("concepts/recovery.md")
    for line in readme_lines(committed):
        assert line in readme, line
