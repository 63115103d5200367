"""Model provider settings, read from DURABLE_RESEARCH_MODEL_* environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

Provider = Literal["extractive", "openai", "fake"]


class ModelSettings(BaseSettings):
    """Which chat model the graphs use. Build once at the edge and pass down.

    Attributes:
        provider: "extractive" (offline default), "openai" (any OpenAI-compatible
            endpoint) or "fake" (deterministic, for tests and experiments).
        name: the model name sent to an OpenAI-compatible endpoint.
        base_url: the endpoint, e.g. http://localhost:8000/v1 for vLLM or Ollama.
        api_key: the key; local servers usually accept any value.
        temperature: sampling temperature for real models.
        timeout_s: per-request timeout for real models.
        stream: ask an OpenAI-compatible endpoint to stream its reply, so watchers see
            tokens as they arrive (the graph still gets the whole reply; usage is reported).
        fake_latency_s: seconds the fake sleeps per call (to make runs crashable).
        fake_call_log: a JSONL file the fake appends one line to per call.
    """

    model_config = SettingsConfigDict(env_prefix="DURABLE_RESEARCH_MODEL_", extra="ignore")

    provider: Provider = "extractive"
    name: str = "gpt-4o-mini"
    base_url: str | None = None
    api_key: SecretStr | None = None
    temperature: float = 0.0
    timeout_s: float = 60
    stream: bool = False
    fake_latency_s: float = 0.0
    fake_call_log: Path | None = None
