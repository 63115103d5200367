"""LangGraph reasoning: graph registry, built-in graphs, model providers and the graph runner.

Never imports Temporal; the activity layer adapts it. Importing this package registers
the built-in graphs in `default_registry`.
"""

import reasoning.graphs  # noqa: F401  (registers the built-ins)
from reasoning._meter import Budgets
from reasoning.audit import checkpoint_audit
from reasoning.batch_fit import check_batch_graph
from reasoning.context import GraphContext, MemoryRetriever, Retriever
from reasoning.errors import (
    BudgetExceededError,
    CheckpointBusyError,
    ConfigError,
    GraphFactoryError,
    GraphLoadError,
    GraphNotFoundError,
    ModelError,
    ModelOutputError,
    NonRetryableModelError,
    ReasoningError,
    RetryableModelError,
    SupersededAttemptError,
    map_provider_error,
)
from reasoning.events import EventSink, ModelCallEvents, RunEvent
from reasoning.models import (
    ExtractiveChatModel,
    FakeChatModel,
    ModelSettings,
    make_chat_model,
    read_call_log,
)
from reasoning.registry import GraphRegistry, GraphSpec, default_registry, register_graph
from reasoning.runner import CheckpointConfig, NodeEvent, RunResult, arun_graph, run_graph
from reasoning.types import (
    Citation,
    Claim,
    DocumentAnalysis,
    DocumentInput,
    Evidence,
    Finding,
    PlannerInput,
    PlannerOutput,
    QuotedClaim,
    ResearchInput,
    Subtask,
    SynthesisInput,
    ValidatorInput,
    ValidatorOutput,
    Verdict,
    WriterInput,
    WriterOutput,
)

__all__ = [
    "BudgetExceededError",
    "Budgets",
    "CheckpointBusyError",
    "CheckpointConfig",
    "Citation",
    "Claim",
    "ConfigError",
    "DocumentAnalysis",
    "DocumentInput",
    "EventSink",
    "Evidence",
    "ExtractiveChatModel",
    "FakeChatModel",
    "Finding",
    "GraphContext",
    "GraphFactoryError",
    "GraphLoadError",
    "GraphNotFoundError",
    "GraphRegistry",
    "GraphSpec",
    "MemoryRetriever",
    "ModelCallEvents",
    "ModelError",
    "ModelOutputError",
    "ModelSettings",
    "NodeEvent",
    "NonRetryableModelError",
    "PlannerInput",
    "PlannerOutput",
    "QuotedClaim",
    "ReasoningError",
    "ResearchInput",
    "Retriever",
    "RetryableModelError",
    "RunEvent",
    "RunResult",
    "Subtask",
    "SupersededAttemptError",
    "SynthesisInput",
    "ValidatorInput",
    "ValidatorOutput",
    "Verdict",
    "WriterInput",
    "WriterOutput",
    "arun_graph",
    "check_batch_graph",
    "checkpoint_audit",
    "default_registry",
    "make_chat_model",
    "map_provider_error",
    "read_call_log",
    "register_graph",
    "run_graph",
]
