"""A graph run's spans: model calls and tool calls in the GenAI and OpenInference conventions, calls the
call log answered marked as replayed and costing nothing, content only when opted in, and a tracer that
raises never failing the run."""

from __future__ import annotations

import contextlib
import types
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from langchain_openai import ChatOpenAI
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan

from reasoning import FakeChatModel, tracing
from tests.reasoning.graphs.deep_helpers import deep_run
from tests.reasoning.models.test_openai_tool_calls import _ToolCallingEndpoint
from tests.support.http_stub import serve
from tests.support.traces import attributes_text, captured_spans

QUESTION = "How does a checkpointer resume a graph?"


@dataclass
class _Options:
    attributes: Mapping[str, Any] = field(default_factory=lambda: {"session.id": "job-1"})
    content: bool = False

    def price(self, model: str, input_tokens: int, output_tokens: int) -> tuple[float, float] | None:
        return input_tokens * 1e-6, output_tokens * 2e-6


@contextlib.contextmanager
def _options(options: _Options) -> Iterator[None]:
    token = otel_context.attach(otel_context.set_value(tracing.TRACE_OPTIONS_KEY, options))
    try:
        yield
    finally:
        otel_context.detach(token)


def _a(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def _of(spans: tuple[ReadableSpan, ...], prefix: str) -> list[ReadableSpan]:
    return [s for s in spans if s.name.startswith(prefix)]


def test_replayed_model_and_tool_calls_are_marked_and_cost_nothing(tmp_path: Path) -> None:
    model = FakeChatModel()
    with _options(_Options()), captured_spans() as memory:
        first = deep_run(model, tmp_path, question=QUESTION)
    paid = memory.get_finished_spans()
    with _options(_Options()), captured_spans() as memory:
        again = deep_run(model, tmp_path, question=QUESTION, attempt=2)  # the retry: all from the call log
    replay = memory.get_finished_spans()

    calls, tools = _of(paid, "chat "), _of(paid, "execute_tool ")
    assert len(calls) == first.model_calls > 0 and len(tools) == first.tool_calls > 0
    assert sum(_a(s)["gen_ai.usage.input_tokens"] for s in calls) == first.input_tokens
    assert all(_a(s)["durable_research.replayed"] is False and _a(s)["session.id"] == "job-1" for s in calls)
    cost = sum(_a(s)["llm.cost.total"] for s in calls)
    assert cost == pytest.approx(first.input_tokens * 1e-6 + first.output_tokens * 2e-6)
    by_id = {s.context.span_id: s for s in paid if s.context}
    for tool in tools:
        a = _a(tool)
        assert a["gen_ai.operation.name"] == "execute_tool" and a["openinference.span.kind"] == "TOOL"
        assert a["gen_ai.tool.name"] == a["tool.name"] == tool.name.removeprefix("execute_tool ")
        assert a["gen_ai.tool.call.id"] and a["durable_research.replayed"] is False
        assert by_id[tool.parent.span_id].name == "node tools"  # type: ignore[union-attr]

    replayed, replayed_tools = _of(replay, "chat "), _of(replay, "execute_tool ")
    assert again.model_calls == 0 and len(replayed) == again.replayed_calls == first.model_calls
    for call in replayed:
        a = _a(call)
        assert a["durable_research.replayed"] is True
        assert a["gen_ai.usage.input_tokens"] == a["gen_ai.usage.output_tokens"] == a["llm.token_count.total"] == 0
        assert a["llm.cost.total"] == 0
    assert sum(_a(s)["durable_research.replayed.input_tokens"] for s in replayed) == first.input_tokens
    assert sorted(s.name for s in replayed_tools) == sorted(s.name for s in tools)
    assert all(_a(s)["durable_research.replayed"] is True for s in replayed_tools)


def test_prompts_replies_and_tool_arguments_only_when_opted_in(tmp_path: Path) -> None:
    model = FakeChatModel()
    with _options(_Options()), captured_spans() as memory:
        deep_run(model, tmp_path / "off", question=QUESTION)
    assert QUESTION not in attributes_text(memory.get_finished_spans())
    assert "input.value" not in attributes_text(memory.get_finished_spans())

    with _options(_Options(content=True)), captured_spans() as memory:
        deep_run(model, tmp_path / "on", question=QUESTION)
    spans = memory.get_finished_spans()
    call = _a(_of(spans, "chat ")[0])
    assert QUESTION in call["input.value"] and QUESTION in call["gen_ai.input.messages"]
    assert call["llm.input_messages.0.message.role"] in ("system", "user") and "output.value" in call
    tool = _a(_of(spans, "execute_tool ")[0])
    assert QUESTION in tool["gen_ai.tool.call.arguments"] and tool["gen_ai.tool.call.result"]


@pytest.mark.parametrize("where", ["get_tracer", "start_span"])
def test_a_tracer_that_raises_does_not_fail_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    class _Broken:
        def start_span(self, *args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("tracing backend broke")

    def get_tracer(*args: Any, **kwargs: Any) -> Any:
        if where == "get_tracer":
            raise RuntimeError("tracing backend broke")
        return _Broken()

    stub = types.SimpleNamespace(
        get_tracer=get_tracer, set_span_in_context=trace.set_span_in_context, NoOpTracer=trace.NoOpTracer
    )
    monkeypatch.setattr(tracing, "trace", stub)
    run = deep_run(FakeChatModel(), tmp_path, question=QUESTION)
    assert run.model_calls > 0 and run.tool_calls > 0 and run.output["answer"]


def test_a_price_that_raises_leaves_the_cost_out_and_the_rest_in(tmp_path: Path) -> None:
    class _BadPrice(_Options):
        def price(self, model: str, input_tokens: int, output_tokens: int) -> tuple[float, float] | None:
            raise ValueError("price table broke")

    with _options(_BadPrice()), captured_spans() as memory:
        run = deep_run(FakeChatModel(), tmp_path, question=QUESTION)
    calls = _of(memory.get_finished_spans(), "chat ")
    assert len(calls) == run.model_calls > 0 and all("llm.cost.total" not in _a(s) for s in calls)
    assert sum(_a(s)["gen_ai.usage.input_tokens"] for s in calls) == run.input_tokens


def test_an_openai_compatible_model_is_named_as_the_provider_reports_it(tmp_path: Path) -> None:
    _ToolCallingEndpoint.requests = []
    with serve(_ToolCallingEndpoint) as port, _options(_Options()), captured_spans() as memory:
        model = ChatOpenAI(model="stub", base_url=f"http://127.0.0.1:{port}/v1", api_key="k", max_retries=0)  # type: ignore[arg-type]
        deep_run(model, tmp_path, tools=["search_memory"])
    spans = memory.get_finished_spans()
    first = _a(min(_of(spans, "chat "), key=lambda s: s.start_time or 0))
    assert first["gen_ai.provider.name"] == first["llm.provider"] == "openai"
    assert first["gen_ai.request.model"] == first["gen_ai.response.model"] == first["llm.model_name"] == "stub"
    assert first["gen_ai.response.finish_reasons"] == ("tool_calls",)
    assert (first["gen_ai.usage.input_tokens"], first["gen_ai.usage.output_tokens"]) == _ToolCallingEndpoint.usage
    (tool,) = _of(spans, "execute_tool ")
    assert _a(tool)["gen_ai.tool.call.id"] == "call_1" and _a(tool)["gen_ai.tool.name"] == "search_memory"
