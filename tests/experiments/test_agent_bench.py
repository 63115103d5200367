"""The deep-researcher benchmark runs on a small profile;
docs/guides/deep-research.md quotes its committed result."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from experiments.benchmarks.agent_bench import RESULTS_FILE, readme_line, run
from tests.support.published import page


@pytest.mark.timeout(240)
def test_quick_profile_runs_a_deep_research_job_and_the_graph_alone(tmp_path: Path) -> None:
    result = run("quick", tmp_path)
    job, alone = result["job"], result["graph_alone"]
    assert job["status"] == "completed" and job["tool_calls"] >= 3 and job["citations"] > 0
    assert alone["tool_calls"] == job["tool_calls"]  # the same graph, the same tools, the same fake model
    assert result["job_over_graph_alone"] == round(job["seconds"] / alone["seconds"], 2)


def test_readme_quotes_the_committed_result() -> None:
    assert readme_line(json.loads(RESULTS_FILE.read_text())) in page("guides/deep-research.md")
