"""Recovery experiments: how much work survives a crash under LangGraph's checkpointer vs Temporal."""

from experiments.recovery.config import ARMS, ExperimentConfig, profile_config
from experiments.recovery.errors import (
    ExperimentConfigError,
    ExperimentRunError,
    RecoveryExperimentError,
    RunTimeoutError,
    StubStartError,
)
from experiments.recovery.plans import POINTS
from experiments.recovery.report import ExperimentResult
from experiments.recovery.runner import (
    merge_results,
    records_from_jsonl,
    run_experiment,
)

__all__ = [
    "ARMS",
    "POINTS",
    "ExperimentConfig",
    "ExperimentConfigError",
    "ExperimentResult",
    "ExperimentRunError",
    "RecoveryExperimentError",
    "RunTimeoutError",
    "StubStartError",
    "merge_results",
    "profile_config",
    "records_from_jsonl",
    "run_experiment",
]
