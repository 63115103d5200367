"""make_chat_model builds each provider from DURABLE_RESEARCH_MODEL_* settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_openai import ChatOpenAI

from reasoning import (
    ConfigError,
    ExtractiveChatModel,
    FakeChatModel,
    ModelSettings,
    make_chat_model,
)


def test_default_is_the_offline_extractive_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("PROVIDER", "BASE_URL", "API_KEY"):
        monkeypatch.delenv(f"DURABLE_RESEARCH_MODEL_{var}", raising=False)
    assert isinstance(make_chat_model(ModelSettings()), ExtractiveChatModel)


def test_fake_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DURABLE_RESEARCH_MODEL_PROVIDER", "fake")
    monkeypatch.setenv("DURABLE_RESEARCH_MODEL_FAKE_LATENCY_S", "0.25")
    monkeypatch.setenv("DURABLE_RESEARCH_MODEL_FAKE_CALL_LOG", str(tmp_path / "log.jsonl"))
    model = make_chat_model(ModelSettings())
    assert isinstance(model, FakeChatModel)
    assert model.latency_s == 0.25 and model.call_log == tmp_path / "log.jsonl"


def test_openai_compatible_endpoint_without_client_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DURABLE_RESEARCH_MODEL_PROVIDER", "openai")
    monkeypatch.setenv("DURABLE_RESEARCH_MODEL_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("DURABLE_RESEARCH_MODEL_NAME", "llama3.1")
    monkeypatch.delenv("DURABLE_RESEARCH_MODEL_API_KEY", raising=False)
    model = make_chat_model(ModelSettings())
    assert isinstance(model, ChatOpenAI)
    assert model.max_retries == 0
    assert model.model_name == "llama3.1"
    assert model.openai_api_base == "http://127.0.0.1:9/v1"


def test_openai_without_key_or_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="DURABLE_RESEARCH_MODEL_API_KEY"):
        make_chat_model(ModelSettings(provider="openai", api_key=None, base_url=None))
