"""Payloads that cross the Temporal boundary in the Temporal arms (A2, A3, A4)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class TemporalRunRequest(BaseModel):
    """One workload run as a workflow input; timeouts ride along so every arm reports them."""

    context: dict[str, Any]
    mode: Literal["restart", "resume"] = "restart"
    # Only the resume mode reads it: the folder for the per-activity SQLite checkpoints.
    checkpoint_dir: str = ""
    durability: Literal["sync", "async"] = "sync"
    heartbeat_s: float = 2.0
    retry_initial_s: float = 0.2
    max_attempts: int = 6
    start_to_close_s: float = 300.0
    question: str = ""


class TemporalRunResult(BaseModel):
    """What a finished Temporal run reports back."""

    answer_hash: str
    resumed: bool = False
    attempt: int = 1
    loops: int = 0
    memory_notes: int = 0
    checkpoint_bytes: int = Field(default=0, description="SQLite checkpoint size (A3 only).")
