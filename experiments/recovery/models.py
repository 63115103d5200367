"""Payloads that cross the Temporal boundary in the Temporal arms (A2, A3, A4)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from orchestration.shared.messages import SubtaskRequest


class RetrySettings(BaseModel):
    """The arm's timeouts and retry bounds; they ride along so every arm reports them."""

    heartbeat_s: float = 2.0
    retry_initial_s: float = 0.2
    max_attempts: int = 6
    start_to_close_s: float = 300.0


class SubtaskRun(RetrySettings):
    """A2/A3: one workload run as one call of the product's ``reasoning.run_subtask``."""

    request: SubtaskRequest


class TemporalRunRequest(RetrySettings):
    """A4: one workload run under the LangGraph plugin (the run context is its LangGraph context)."""

    context: dict[str, Any]
    question: str = ""


class TemporalRunResult(BaseModel):
    """What a finished A4 run reports back."""

    answer_hash: str
    loops: int = 0
    memory_notes: int = 0
