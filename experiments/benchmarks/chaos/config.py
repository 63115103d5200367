"""What one chaos run does: how many faults of each kind, how often, over how many jobs."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Profile = Literal["quick", "full"]

# Four questions x two recovery modes: every chaos job repeats one of these eight specs
# (the quick profile uses the first two), each of which also runs once crash-free as the
# reference report.
QUESTIONS = (
    "How do Temporal and LangGraph make long AI jobs durable?",
    "What does Chroma store for semantic memory, and how is it queried?",
    "How does a LangGraph checkpointer let a graph resume after a crash?",
    "Why do Temporal activities heartbeat, and what happens when they stop?",
)
RECOVERY_MODES = ("restart", "resume")


class ChaosConfig(BaseModel):
    """One run's settings; `for_profile` fills the defaults of quick and full."""

    seed: int = 1
    kills: int = Field(ge=0, description="SIGKILLs in total, of workers and of the server.")
    pauses: int = Field(ge=0, description="SIGSTOP/SIGCONT pauses of a worker past its heartbeat timeout.")
    server_kill_share: float = Field(default=0.15, ge=0, le=1)
    jobs: int = Field(ge=1, description="Jobs kept running at once while faults fire.")
    workers: int = Field(ge=1, le=8)
    gap_s: tuple[float, float] = Field(description="Seconds between faults, drawn uniformly.")
    heartbeat_timeout_s: float = 2.0
    # A fresh worker loads its embedding model in its first index_report: tens of seconds
    # when the shared machine is loaded (load average 20 seen), so not much shorter.
    io_timeout_s: float = 60.0
    pause_extra_s: tuple[float, float] = (1.0, 3.0)
    model_latency_s: float = 0.15
    max_subtasks: int = 3
    specs: int = Field(default=8, ge=2, le=len(QUESTIONS) * len(RECOVERY_MODES), description="Distinct job specs.")
    drain_timeout_s: float = 900.0
    profile: Profile = "quick"

    @property
    def server_kills(self) -> int:
        return round(self.kills * self.server_kill_share)

    @property
    def worker_kills(self) -> int:
        return self.kills - self.server_kills

    @property
    def faults(self) -> int:
        return self.kills + self.pauses


def for_profile(profile: Profile, **overrides: object) -> ChaosConfig:
    """Quick: a handful of faults for the test suite (< 2 min). Full: >= 200 faults (~30-40 min, 2 cores)."""
    base: dict[str, object] = (
        {"kills": 3, "pauses": 1, "jobs": 3, "workers": 2, "gap_s": (3.0, 5.0), "server_kill_share": 0.34, "specs": 2}
        if profile == "quick"
        # Heartbeat timeouts of 2 s and 8 s expired with no fault at load average 10-20: a
        # replacement worker's first graph loads the embedding model before its first
        # heartbeat, and with a kill every ~10 s most attempts land on a fresh worker.
        else {
            "kills": 140,
            "pauses": 70,
            "server_kill_share": 0.2,
            "jobs": 6,
            "workers": 3,
            "gap_s": (3.5, 7.0),
            "heartbeat_timeout_s": 20.0,
        }
    )
    base["profile"] = profile
    base.update({k: v for k, v in overrides.items() if v is not None})
    return ChaosConfig.model_validate(base)
