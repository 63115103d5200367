"""The product path with its call log (A5restart, A5resume) under the quick profile, and the zombie
point, end to end: real worker processes SIGKILLed or SIGSTOPped by the controller, a real Temporal
dev server, the product's own activity, checkpoints and call log, the model stub in its own process.

A retry must pay again only for calls whose reply the killed process never had, and a worker paused
past its heartbeat timeout, let go once its successor took over, must make no model call and write
no call-log entry after the takeover. A2 (restart without the log) runs the same pause as a control:
the point leaves the paused worker a call of its own to make, which it makes without the log.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from experiments.recovery import ExperimentResult, profile_config, run_experiment

pytestmark = [pytest.mark.slow, pytest.mark.timeout(400)]


Results = dict[str, ExperimentResult]


@pytest.fixture(scope="module")
async def results(tmp_path_factory: pytest.TempPathFactory) -> Results:
    configs = {
        arm: profile_config("quick", arms=[arm], out=tmp_path_factory.mktemp(f"{arm}-results"))
        for arm in ("A5restart", "A5resume")
    }
    # A stopped worker keeps its 5 activity polls open and Temporal may hand it up to 5 retries;
    # 8 attempts leave the successor one whatever it swallows (this test is not about the budget).
    configs["zombie"] = profile_config(
        "quick", arms=["A2", "A5restart"], points=["pause"], kills=1, max_attempts=8,
        out=tmp_path_factory.mktemp("zombie-results"),
    )  # fmt: skip
    # Side by side, each with its own dev server, stub and hub (batches as `experiment merge`
    # combines them): runs spend most of their time waiting out heartbeat timeouts, so three
    # share 2 cores in about the time of the longest.
    done = await asyncio.gather(
        *(run_experiment(config, work=tmp_path_factory.mktemp(f"{name}-work")) for name, config in configs.items())
    )
    return dict(zip(configs, done, strict=True))


def _runs(result: ExperimentResult, arm: str, point: str | None = None) -> list[dict[str, Any]]:
    runs = [r for r in result.records if r["arm"] == arm and r["point"] != "none" and point in (None, r["point"])]
    assert runs, f"no {point or 'kill'} runs for {arm}"
    return runs


@pytest.mark.parametrize("arm", ["A5restart", "A5resume"])
def test_a5_repeats_no_call_whose_reply_it_had(results: Results, arm: str) -> None:
    for run in _runs(results[arm], arm):
        assert run["kills"] >= 1, run
        assert run["completed"] and run["answer_ok"], run
        assert run["completed_repeated_had_reply"] == 0, run
        # At most the calls in flight at the kill and replies the killed process never read are paid again.
        assert run["re_executed_calls"] <= run["completed_repeated"] + run["inflight_repeated"], run


def test_a5restart_gets_finished_calls_back_from_the_log(results: Results) -> None:
    # A restart runs the graph from its first node: every call made before the kill comes back.
    for run in _runs(results["A5restart"], "A5restart"):
        in_transit = run["completed_repeated"] - run["completed_repeated_had_reply"]
        finished = run["calls_before_kill"] - run["inflight_repeated"] - in_transit
        assert run["replayed_calls"] >= finished, run


def test_a_zombie_with_the_call_log_makes_no_call_after_the_takeover(results: Results) -> None:
    (control,) = _runs(results["zombie"], "A2", "pause")
    (zombie,) = _runs(results["zombie"], "A5restart", "pause")
    for run in (control, zombie):
        assert run["pauses"] == 1 and run["pause_to_takeover_s"] is not None, run
        assert run["completed"] and run["answer_ok"], run
    assert control["zombie_calls_after_takeover"] >= 1, control
    assert zombie["zombie_calls_after_takeover"] == 0, zombie
    assert zombie["zombie_log_writes"] == 0, zombie


def test_the_summary_shows_both_kinds_of_repeats_and_the_zombies(results: Results) -> None:
    text = results["A5resume"].summary.read_text()
    assert "completed calls repeated" in text and "in-flight calls repeated" in text
    assert "| A5resume | after_node |" in text
    zombies = results["zombie"].summary.read_text().split("## Zombies")[1]
    assert "| A5restart | 1 | 1 (" in zombies
