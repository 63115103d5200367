"""The seeded fault plan: which kinds fire in which order, and the gaps between them."""

from __future__ import annotations

import random
from typing import Literal

from pydantic import BaseModel

from experiments.benchmarks.chaos.config import ChaosConfig

FaultKind = Literal["kill_worker", "kill_server", "pause_worker"]


class PlannedFault(BaseModel):
    at_s: float  # seconds after the chaos phase starts
    kind: FaultKind
    pause_s: float = 0.0  # pause_worker only: how long the worker stays stopped


def plan_faults(config: ChaosConfig, rng: random.Random) -> list[PlannedFault]:
    """Every fault of the run, in firing order; the same seed gives the same plan."""
    kinds: list[FaultKind] = (
        ["kill_worker"] * config.worker_kills + ["kill_server"] * config.server_kills + ["pause_worker"] * config.pauses
    )
    rng.shuffle(kinds)
    plan: list[PlannedFault] = []
    at = 0.0
    for kind in kinds:
        at += rng.uniform(*config.gap_s)
        pause = config.heartbeat_timeout_s + rng.uniform(*config.pause_extra_s) if kind == "pause_worker" else 0.0
        plan.append(PlannedFault(at_s=round(at, 3), kind=kind, pause_s=round(pause, 3)))
    return plan
