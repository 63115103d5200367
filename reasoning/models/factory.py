"""One factory from settings to a LangChain chat model."""

from __future__ import annotations

from langchain_core.language_models import BaseChatModel

from reasoning.errors import ConfigError
from reasoning.models.extractive import ExtractiveChatModel
from reasoning.models.fake import FakeChatModel
from reasoning.models.settings import ModelSettings


def make_chat_model(settings: ModelSettings) -> BaseChatModel:
    """Build the configured chat model.

    OpenAI-compatible clients get ``max_retries=0``: Temporal owns retries, and provider
    errors are mapped with `map_provider_error` at the call site.
    """
    if settings.provider == "fake":
        return FakeChatModel(latency_s=settings.fake_latency_s, call_log=settings.fake_call_log)
    if settings.provider == "extractive":
        return ExtractiveChatModel()
    if settings.provider == "openai":
        return _openai(settings)
    raise ConfigError(f"Unknown model provider {settings.provider!r}: use extractive, openai or fake.")


def _openai(settings: ModelSettings) -> BaseChatModel:
    from langchain_openai import ChatOpenAI

    if settings.api_key is None and settings.base_url is None:
        raise ConfigError(
            "The openai provider needs DURABLE_RESEARCH_MODEL_API_KEY, or "
            "DURABLE_RESEARCH_MODEL_BASE_URL for a local OpenAI-compatible server."
        )
    # Local servers (vLLM, llama.cpp, Ollama) accept any key, but the client insists on one.
    key = settings.api_key.get_secret_value() if settings.api_key else "not-needed"
    return ChatOpenAI(
        model=settings.name,
        base_url=settings.base_url,
        api_key=key,  # type: ignore[arg-type]
        temperature=settings.temperature,
        timeout=settings.timeout_s,
        max_retries=0,
        # Streaming only changes how the reply travels: callbacks see each token, and
        # `stream_usage` keeps the usage data (tokens in/out) that a stream would drop.
        streaming=settings.stream,
        stream_usage=True,
    )
