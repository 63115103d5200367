"""Experiment configuration and the named profiles (quick for CI, medium, full, slow)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from experiments.recovery.errors import ExperimentConfigError
from experiments.recovery.plans import POINTS

ARMS = ("A0", "A1sync", "A1async", "A1t", "A2", "A3", "A4", "A5restart", "A5resume")
# A5 is the product path with the call log; its two recovery modes are separate arms, and
# asking for "A5" means both.
ARM_GROUPS: dict[str, tuple[str, ...]] = {"A5": ("A5restart", "A5resume")}
Profile = Literal["quick", "medium", "full", "slow"]


class ExperimentConfig(BaseModel):
    """Everything that determines an experiment's numbers (it is written next to them)."""

    arms: list[str] = Field(default_factory=lambda: list(ARMS))
    points: list[str] = Field(default_factory=lambda: list(POINTS))
    kills: int = Field(default=30, ge=0, description="Runs per arm and kill point.")
    clean_runs: int = Field(default=5, ge=1, description="Crash-free runs per arm.")
    seed: int = 7
    profile: Profile = "full"
    latency_ms: float = Field(default=100.0, gt=0)
    heartbeat_s: float = 2.0
    sticky_s: float = 1.0
    retry_initial_s: float = 0.2
    max_attempts: int = 6
    workers: int = 2
    run_timeout_s: float = 120.0
    # A stopped worker may swallow every retry (see hub.py); 30 s outlasts the whole retry budget
    # (6 attempts x (2 s heartbeat timeout + 1 s retry wait)), so the last attempt can still take over.
    pause_max_s: float = Field(
        default=30.0, gt=0, description="Longest a paused worker stays stopped when no successor takes over."
    )
    out: Path = Path("experiments/recovery/results")
    note: str = Field(default="", description="Free text, e.g. how merged results were made.")

    @field_validator("arms")
    @classmethod
    def _expand_groups(cls, arms: list[str]) -> list[str]:
        expanded = [arm for name in arms for arm in ARM_GROUPS.get(name, (name,))]
        return list(dict.fromkeys(expanded))

    def validate_names(self) -> ExperimentConfig:
        """Refuse unknown arms and points with a message that lists the valid ones."""
        for arm in self.arms:
            if arm not in ARMS:
                groups = "; ".join(f"{g} = {' + '.join(members)}" for g, members in ARM_GROUPS.items())
                raise ExperimentConfigError(f"Unknown arm {arm!r}. Choose from {', '.join(ARMS)} ({groups}).")
        for point in self.points:
            if point not in POINTS:
                raise ExperimentConfigError(f"Unknown kill point {point!r}. Choose from {', '.join(POINTS)}.")
        return self


_PROFILES: dict[str, dict[str, object]] = {
    # CI: two kills at each of two points, fast model. Seed 3 puts them in four regions
    # of the graph (two calls outside the fan-out, a fan-out branch return, a synthesize
    # return), so four kills still say something about every arm.
    "quick": {"kills": 2, "clean_runs": 1, "latency_ms": 40.0, "seed": 3,
              "points": ["model_call", "after_node"], "run_timeout_s": 60.0},
    "medium": {"kills": 8, "clean_runs": 3, "latency_ms": 100.0},
    # >= 30 kills per arm and point, ~1,300 runs: ~3 h in one process on 2 cores, ~1.5 h with
    # local and Temporal arms in two processes (then `experiment merge`).
    "full": {"kills": 30, "clean_runs": 5, "latency_ms": 100.0},
    # A real model's seconds per call, where work lost costs more than Temporal's fixed
    # detection time: the product-path arms only, at the two points that lose a call in
    # flight (one call, or every branch of the fan-out). ~10 min on 2 cores.
    "slow": {"kills": 3, "clean_runs": 2, "latency_ms": 1500.0, "points": ["model_call", "parallel"],
             "arms": ["A2", "A3", "A5restart", "A5resume"], "run_timeout_s": 300.0},
}  # fmt: skip


def profile_config(profile: Profile, **overrides: object) -> ExperimentConfig:
    """The named profile with explicit overrides (None values are ignored)."""
    if profile not in _PROFILES:
        raise ExperimentConfigError(f"Unknown profile {profile!r}. Choose {', '.join(_PROFILES)}.")
    values: dict[str, object] = {"profile": profile, **_PROFILES[profile]}
    values.update({k: v for k, v in overrides.items() if v is not None})
    return ExperimentConfig.model_validate(values).validate_names()
