"""The quick recovery profile, end to end with real processes, real SIGKILLs, a real
Temporal dev server and real Chroma, checks the invariants of issue 7."""

from __future__ import annotations

import asyncio
import statistics
from pathlib import Path
from typing import Any

import pytest

from experiments.recovery import ExperimentResult, merge_results, profile_config, run_experiment

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

DURABLE = ("A1sync", "A1async", "A1t", "A2", "A3", "A4")
# The call log's arms (A5) have their own quick test (test_recovery_call_log_quick.py).


# Three harnesses side by side, merged as `experiment merge` does for a long run: the local
# arms, the product's activity (A2, A3) and the plugin (A4) each get their own dev server, stub
# and controller. Runs mostly wait out heartbeat timeouts, so three take about the time of one.
BATCHES = {"local": ["A0", "A1sync", "A1async", "A1t"], "product": ["A2", "A3"], "plugin": ["A4"]}


@pytest.fixture(scope="module")
async def quick(tmp_path_factory: pytest.TempPathFactory) -> ExperimentResult:
    configs = {
        name: profile_config("quick", arms=arms, out=tmp_path_factory.mktemp(f"{name}-results"))
        for name, arms in BATCHES.items()
    }
    await asyncio.gather(
        *(run_experiment(config, work=tmp_path_factory.mktemp(f"{name}-work")) for name, config in configs.items())
    )
    return merge_results([Path(c.out) for c in configs.values()], tmp_path_factory.mktemp("recovery-results"))


def _kill_runs(result: ExperimentResult, arm: str) -> list[dict[str, Any]]:
    runs = [r for r in result.records if r["arm"] == arm and r["point"] != "none"]
    assert runs, f"no kill runs for {arm}"
    assert all(r["kills"] >= 1 for r in runs), f"a planned kill of {arm} never fired"
    return runs


def _clean_calls(result: ExperimentResult, arm: str) -> int:
    return next(r["calls"] for r in result.records if r["arm"] == arm and r["point"] == "none")


def test_every_durable_arm_completes_with_the_clean_answer(quick: ExperimentResult) -> None:
    for arm in DURABLE:
        for run in _kill_runs(quick, arm):
            assert run["completed"], (arm, run)
            assert run["answer_ok"], (arm, run)


def test_a0_repeats_everything_it_had_done(quick: ExperimentResult) -> None:
    for run in _kill_runs(quick, "A0"):
        assert run["completed"] and run["answer_ok"]
        if run["calls_before_kill"]:
            assert run["restarted_from_scratch"], run
            assert run["re_executed_calls"] >= run["calls_before_kill"], run


def test_a3_reexecutes_at_most_one_call_per_kill_median(quick: ExperimentResult) -> None:
    per_kill = [r["re_executed_calls"] / r["kills"] for r in _kill_runs(quick, "A3")]
    assert statistics.median(per_kill) <= 1, per_kill


def test_a2_reexecutes_at_most_one_graph_per_kill(quick: ExperimentResult) -> None:
    graph_calls = _clean_calls(quick, "A2")
    for run in _kill_runs(quick, "A2"):
        assert 0 <= run["re_executed_calls"] <= graph_calls * run["kills"], run


def test_a3_storage_counts_its_checkpoints(quick: ExperimentResult) -> None:
    # A3's record adds its thread's checkpoint blobs to the history both Temporal arms have.
    clean = {r["arm"]: r["storage_bytes"] for r in quick.records if r["point"] == "none"}
    assert clean["A3"] > clean["A2"] + 10_000, clean


def test_results_are_written(quick: ExperimentResult) -> None:
    assert quick.jsonl.exists() and quick.summary.exists()
    assert "| A3 | model_call |" in quick.summary.read_text()
    for plot in quick.plots:
        assert plot.stat().st_size > 1000, plot
    assert len(quick.jsonl.read_text().splitlines()) == len(quick.records)
    assert isinstance(Path(quick.out), Path)
