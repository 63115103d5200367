"""Chaos benchmark: real worker processes and the embedded server under seeded SIGKILLs and pauses."""

from experiments.benchmarks.chaos.audit import checkpoint_audit
from experiments.benchmarks.chaos.config import ChaosConfig, for_profile
from experiments.benchmarks.chaos.runner import passed, run_chaos, summary_line

__all__ = ["ChaosConfig", "checkpoint_audit", "for_profile", "passed", "run_chaos", "summary_line"]
