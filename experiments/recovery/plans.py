"""Seeded kill plans: which logical event ends the process, per kill point.

The same seed gives every arm the same plan (same call index, same fraction of the
call's latency), so arms are compared on identical crashes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from experiments.recovery.errors import ExperimentConfigError
from experiments.recovery.hub import Trigger

POINTS = ("model_call", "after_node", "parallel", "upsert", "recovery2", "uniform", "pause")
# Points a worker survives (it is paused, not killed): only arms supervised by Temporal's
# heartbeat timeout notice a stopped process; a local supervisor waits for its child's exit.
PAUSE_POINTS = ("pause",)
# The workload's second call (retrieve's searcher) is its one call with another call after it
# in the same node (the reader's): a zombie let go there has a call of its own left to make.
PAUSE_CALL = 2


@dataclass(frozen=True)
class CleanProfile:
    """What a crash-free run of an arm looks like; plans and metrics are relative to it."""

    calls: int
    node_ends: int
    upserts: int
    wall_s: float
    tokens: int
    model_s: float
    ledger_rows: int
    first_hash: str
    answer_hash: str


def plan_rng(seed: int, point: str, index: int) -> random.Random:
    """An RNG that depends on the seed, point and kill index only (never on the arm)."""
    return random.Random(f"{seed}/{point}/{index}")


def _in_call(rng: random.Random, clean: CleanProfile, latency_s: float) -> Trigger:
    # Calls last 0.6-1.4x the nominal latency; 0.05-0.55x lands inside every call.
    return Trigger("call_begin", nth=rng.randint(1, clean.calls), delay_s=rng.uniform(0.05, 0.55) * latency_s)


def make_triggers(point: str, rng: random.Random, clean: CleanProfile, latency_s: float) -> list[Trigger]:
    """The kill triggers of one run at `point`."""
    if point == "model_call":
        return [_in_call(rng, clean, latency_s)]
    if point == "after_node":
        return [Trigger("node_end", nth=rng.randint(1, clean.node_ends))]
    if point == "parallel":
        # The first analyst to return, while its siblings are still inside their calls.
        return [Trigger("node_end", nth=1, node="analyze")]
    if point == "upsert":
        return [Trigger("upsert", nth=rng.randint(1, max(1, clean.upserts - 1)))]
    if point == "recovery2":
        second = Trigger("call_begin", nth=1, delay_s=rng.uniform(0.05, 0.55) * latency_s)
        return [_in_call(rng, clean, latency_s), second]
    if point == "uniform":
        return [Trigger("time", at_s=rng.uniform(0.02, 0.98) * clean.wall_s)]
    if point == "pause":
        # SIGSTOP, not SIGKILL: the hub lets the process go on once a successor has taken over.
        return [Trigger("call_begin", nth=PAUSE_CALL, delay_s=rng.uniform(0.05, 0.55) * latency_s, action="pause")]
    raise ExperimentConfigError(f"Unknown kill point {point!r}. Choose from {', '.join(POINTS)}.")
