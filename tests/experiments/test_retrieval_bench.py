"""The retrieval benchmark runs end to end on a tiny corpus and reports every number."""

from __future__ import annotations

from pathlib import Path

from experiments.benchmarks.retrieval_bench import EVAL_FILE, run


def test_bench_reports_throughput_latency_and_recall(tmp_path: Path) -> None:
    result = run(
        scale=150,
        folder=tmp_path,
        chunk_size=500,
        packages=["langgraph"],
        sweep_sample=2,
        phrasings=1,
    )
    assert result["ingest"]["chunks"] > 0 and result["ingest"]["chunks_per_s"] > 0
    assert result["scale"]["chunks"] == 150  # real chunks plus synthetic variants
    assert result["scale"]["copies"] >= 2
    for name in ("end_to_end_ms", "search_only_ms", "filtered_search_ms"):
        assert 0 < result["latency"][name]["p50"] <= result["latency"][name]["p95"]
    recall = result["recall"]
    assert recall["pairs"] >= 15
    # Only LangGraph's docs are indexed: its questions are found, the others cannot be.
    assert {m["expected"] for m in recall["misses"]} <= {
        s for s in EVAL_FILE.read_text().split('"') if s.startswith("pkgdocs:")
    } - {"pkgdocs:langgraph"}
