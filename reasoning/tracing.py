"""OpenTelemetry spans for each graph node, model call and tool call, named as LLM trace viewers read them.

Every span carries both attribute sets viewers know: the OpenTelemetry GenAI semantic
conventions (``gen_ai.*``: Langfuse, LangSmith's OTel ingest, Datadog, SigNoz) and the
OpenInference ones (``openinference.span.kind``, ``llm.*``, ``tool.*``: Arize Phoenix), plus
our own under ``durable_research.*``. Spans go through the OpenTelemetry API only: with no
tracer provider configured the API hands out a no-op tracer, so a run costs nearly nothing
more; the worker process decides where spans go (OTLP, a test's in-memory exporter).

Spans are parented to the span current when the run started (the activity's span, under
Temporal's tracing plugin), so a trace reads client start -> workflow -> activity -> node ->
chat / execute_tool. What a caller wants on them beyond that (the job's ids, whether prompts
may be recorded, what a token costs) comes as `TraceOptions` in the OpenTelemetry context
under `TRACE_OPTIONS_KEY`: the worker's activity interceptor puts it there, so reasoning
never learns about Temporal.

A call answered from the call log is marked ``durable_research.replayed=true`` and reports
zero tokens and zero cost in both conventions (it was not paid for again); what it would
have cost is under ``durable_research.replayed.*``. A tool call answered from the log makes
an ``execute_tool`` span marked the same way. Prompts, replies, tool arguments and results
are recorded only when `TraceOptions.content` is true: they may be secret, and the payload
key protects them everywhere else.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import BaseMessage
from langchain_core.outputs import LLMResult
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, Status, StatusCode
from opentelemetry.util.types import AttributeValue

from reasoning._meter import replayed, usage_of
from reasoning.call_log.tool_calls import TOOL_EVENT
from reasoning.models.tasks import provider_name

_log = logging.getLogger(__name__)
TRACER_NAME = "durable_research.reasoning"
TRACE_OPTIONS_KEY = "durable_research.trace_options"
"""OpenTelemetry context key holding the `TraceOptions` of the runs started under it."""
CONTENT_LIMIT = 32_000
"""Characters kept of one content attribute (a prompt with its evidence can be long)."""

# OpenTelemetry GenAI semantic conventions.
OPERATION, PROVIDER, SYSTEM = "gen_ai.operation.name", "gen_ai.provider.name", "gen_ai.system"
REQUEST_MODEL, RESPONSE_MODEL = "gen_ai.request.model", "gen_ai.response.model"
INPUT_TOKENS, OUTPUT_TOKENS = "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens"
TOOL_NAME, TOOL_CALL_ID = "gen_ai.tool.name", "gen_ai.tool.call.id"
# OpenInference semantic conventions.
SPAN_KIND, MODEL_NAME = "openinference.span.kind", "llm.model_name"
PROMPT_TOKENS, COMPLETION_TOKENS, TOTAL_TOKENS = (
    "llm.token_count.prompt", "llm.token_count.completion", "llm.token_count.total",
)  # fmt: skip
COST_PROMPT, COST_COMPLETION, COST_TOTAL = "llm.cost.prompt", "llm.cost.completion", "llm.cost.total"
# Ours.
GRAPH, NODE, STEP = "durable_research.graph", "durable_research.node", "durable_research.step"
REPLAYED = "durable_research.replayed"
REPLAYED_INPUT_TOKENS = "durable_research.replayed.input_tokens"
REPLAYED_OUTPUT_TOKENS = "durable_research.replayed.output_tokens"

_ROLES = {"human": "user", "ai": "assistant", "system": "system", "tool": "tool"}


@runtime_checkable
class TraceOptions(Protocol):
    """What the caller wants on the spans of the runs it starts (structural: no import needed).

    Attributes:
        attributes: set on every span (e.g. the job id as ``session.id``).
        content: record prompts, replies, tool arguments and results.
    """

    attributes: Mapping[str, AttributeValue]
    content: bool

    def price(self, model: str, input_tokens: int, output_tokens: int) -> tuple[float, float] | None:
        """US dollars for a call's input and output tokens; None when the model has no price."""


class _NoOptions:
    attributes: Mapping[str, AttributeValue] = {}
    content = False

    def price(self, model: str, input_tokens: int, output_tokens: int) -> tuple[float, float] | None:
        return None


class SpanRecorder(BaseCallbackHandler):
    """A LangChain callback that opens a span per graph node, chat model call and tool call.

    Args:
        graph: the graph key, set on every span as ``durable_research.graph``.
        model: the run's chat model; names the provider and model when the call's metadata does not.
    """

    def __init__(self, graph: str, model: Any) -> None:
        self.graph = graph
        self._root = otel_context.get_current()  # taken where the run starts: the activity's context
        options = otel_context.get_value(TRACE_OPTIONS_KEY, self._root)
        self.options: TraceOptions = options if isinstance(options, TraceOptions) else _NoOptions()
        try:  # telemetry never takes a run down: a tracer provider that raises gives no spans
            self.label = provider_name(model)  # "fake", "extractive", or the model's LangChain type
            self.provider = getattr(model, "provider", None)  # our own models name their provider
            self._tracer = trace.get_tracer(TRACER_NAME)
        except Exception:
            _log.warning("no spans for this run: the tracer could not be set up", exc_info=True)
            self.label, self.provider, self._tracer = "model", None, trace.NoOpTracer()
        self._parents: dict[UUID, UUID | None] = {}
        self._spans: dict[UUID, Span] = {}
        self._models: dict[UUID, str] = {}

    def on_chain_start(
        self,
        serialized: Any,
        inputs: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self._parents[run_id] = parent_run_id
        node = (metadata or {}).get("langgraph_node")
        if node and kwargs.get("name") == node:
            step = int((metadata or {}).get("langgraph_step", 0))
            attributes: dict[str, AttributeValue] = {
                SPAN_KIND: "CHAIN", NODE: str(node), STEP: step, "graph.node.id": str(node),
            }  # fmt: skip
            self._open(run_id, f"node {node}", attributes)

    def on_chain_end(self, outputs: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._close(run_id, None)

    def on_chain_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._close(run_id, error)

    def on_chat_model_start(
        self,
        serialized: Any,
        messages: list[list[BaseMessage]],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self._parents[run_id] = parent_run_id
        meta = metadata or {}
        model = str(meta.get("ls_model_name") or self.label)
        provider = str(self.provider or meta.get("ls_provider") or self.label)
        attributes: dict[str, AttributeValue] = {
            OPERATION: "chat", PROVIDER: provider, SYSTEM: provider, REQUEST_MODEL: model,
            SPAN_KIND: "LLM", MODEL_NAME: model, "llm.provider": provider, "llm.system": provider,
            NODE: str(meta.get("langgraph_node", "")),
        }  # fmt: skip
        if isinstance(meta.get("ls_temperature"), int | float):
            attributes["gen_ai.request.temperature"] = float(meta["ls_temperature"])
        if isinstance(meta.get("ls_max_tokens"), int):
            attributes["gen_ai.request.max_tokens"] = int(meta["ls_max_tokens"])
        if self.options.content:
            attributes.update(_prompt_attributes(messages[0] if messages else []))
        self._models[run_id] = model
        self._open(run_id, f"chat {model}", attributes)

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        span, model = self._spans.get(run_id), self._models.pop(run_id, self.label)
        try:
            if span is not None:
                span.set_attributes(self._call_attributes(response, model))
        finally:  # a span always ends, even when describing it failed
            self._close(run_id, None)

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._models.pop(run_id, None)
        self._close(run_id, error)

    def on_tool_start(
        self,
        serialized: Any,
        input_str: str,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        inputs: Any = None,
        **kwargs: Any,
    ) -> None:
        self._parents[run_id] = parent_run_id
        tool = str(kwargs.get("name") or (serialized or {}).get("name") or "tool")
        attributes = _tool_attributes(tool, kwargs.get("tool_call_id"), replayed=False)
        if description := (serialized or {}).get("description"):
            attributes["tool.description"] = attributes["gen_ai.tool.description"] = str(description)
        if self.options.content:
            arguments = _clip(input_str if inputs is None else _json(inputs))
            attributes |= {"gen_ai.tool.call.arguments": arguments, "input.value": arguments}
        self._open(run_id, f"execute_tool {tool}", attributes)

    def on_tool_end(self, output: Any, *, run_id: UUID, **kwargs: Any) -> None:
        span = self._spans.get(run_id)
        try:
            if span is not None and self.options.content:
                result = _clip(str(getattr(output, "content", output)))
                span.set_attributes({"gen_ai.tool.call.result": result, "output.value": result})
        finally:
            self._close(run_id, None)

    def on_tool_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._close(run_id, error)

    def on_custom_event(self, name: str, data: Any, *, run_id: UUID, **kwargs: Any) -> None:
        """A tool call the call log answered runs no tool, so no `on_tool_start`: its span is made here."""
        if name != TOOL_EVENT or not isinstance(data, dict) or not data.get("replayed"):
            return
        tool = str(data.get("tool") or "tool")
        attributes = _tool_attributes(tool, None, replayed=True)
        if self.options.content:
            attributes["gen_ai.tool.call.arguments"] = _clip(str(data.get("args", "")))
        now = time.time_ns()
        started = now - int(float(data.get("seconds") or 0) * 1e9)
        span = self._start(run_id, f"execute_tool {tool}", attributes, started)
        span.end(end_time=now)

    def _call_attributes(self, response: LLMResult, model: str) -> dict[str, AttributeValue]:
        """Usage (zero when replayed: nothing was paid), the response's model and finish reasons, cost."""
        tokens_in, tokens_out = usage_of(response)
        out: dict[str, AttributeValue] = {REPLAYED: replayed(response)}
        if out[REPLAYED]:
            out |= {REPLAYED_INPUT_TOKENS: tokens_in, REPLAYED_OUTPUT_TOKENS: tokens_out}
            tokens_in = tokens_out = 0
        out |= {
            INPUT_TOKENS: tokens_in, OUTPUT_TOKENS: tokens_out,
            PROMPT_TOKENS: tokens_in, COMPLETION_TOKENS: tokens_out, TOTAL_TOKENS: tokens_in + tokens_out,
        }  # fmt: skip
        metadata = _response_metadata(response)
        if metadata.get("model_name"):
            out[RESPONSE_MODEL] = out[MODEL_NAME] = str(metadata["model_name"])
        if metadata.get("finish_reason"):
            out["gen_ai.response.finish_reasons"] = [str(metadata["finish_reason"])]
        if (cost := self._price(model, tokens_in, tokens_out)) is not None:
            out |= {COST_PROMPT: cost[0], COST_COMPLETION: cost[1], COST_TOTAL: cost[0] + cost[1]}
        if self.options.content:
            out |= _reply_attributes(response)
        return out

    def _price(self, model: str, tokens_in: int, tokens_out: int) -> tuple[float, float] | None:
        try:
            return self.options.price(model, tokens_in, tokens_out)
        except Exception:  # a span without its cost, never a call without its span
            _log.warning("model call not priced for its span", exc_info=True)
            return None

    def _open(self, run_id: UUID, name: str, attributes: dict[str, AttributeValue]) -> None:
        self._spans[run_id] = self._start(self._parents.get(run_id), name, attributes, None)

    def _start(self, parent_run: UUID | None, name: str, attributes: dict[str, Any], start: int | None) -> Span:
        parent = self._nearest_span(parent_run)
        context = trace.set_span_in_context(parent, self._root) if parent is not None else self._root
        attributes = {**self.options.attributes, GRAPH: self.graph, **attributes}
        return self._tracer.start_span(name, context=context, attributes=attributes, start_time=start)

    def _nearest_span(self, run_id: UUID | None) -> Span | None:
        while run_id is not None:
            if run_id in self._spans:
                return self._spans[run_id]
            run_id = self._parents.get(run_id)
        return None

    def _close(self, run_id: UUID, error: BaseException | None) -> None:
        self._parents.pop(run_id, None)
        span = self._spans.pop(run_id, None)
        if span is None:
            return
        if error is not None:
            span.record_exception(error)
            span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {str(error)[:200]}"))
        span.end()


def _tool_attributes(tool: str, call_id: Any, *, replayed: bool) -> dict[str, AttributeValue]:
    out: dict[str, AttributeValue] = {
        OPERATION: "execute_tool", TOOL_NAME: tool, "gen_ai.tool.type": "function",
        SPAN_KIND: "TOOL", "tool.name": tool, REPLAYED: replayed,
    }  # fmt: skip
    if call_id:
        out[TOOL_CALL_ID] = str(call_id)
    return out


def _response_metadata(response: LLMResult) -> dict[str, Any]:
    for generations in response.generations:
        for gen in generations:
            metadata = getattr(getattr(gen, "message", None), "response_metadata", None)
            if metadata:
                return dict(metadata)
    return dict(response.llm_output or {})


def _prompt_attributes(messages: Sequence[BaseMessage]) -> dict[str, AttributeValue]:
    """The prompt in both conventions (only when content is on)."""
    out: dict[str, AttributeValue] = {}
    plain = [_message(m) for m in messages]
    for i, message in enumerate(plain):
        out[f"llm.input_messages.{i}.message.role"] = message["role"]
        out[f"llm.input_messages.{i}.message.content"] = _clip(message["content"])
    out["gen_ai.input.messages"] = out["input.value"] = _clip(_json(plain))
    out["input.mime_type"] = "application/json"
    return out


def _reply_attributes(response: LLMResult) -> dict[str, AttributeValue]:
    """The reply in both conventions (only when content is on)."""
    gen = response.generations[0][0] if response.generations and response.generations[0] else None
    message = getattr(gen, "message", None)
    if message is None:
        return {}
    plain = _message(message)
    out: dict[str, AttributeValue] = {
        "llm.output_messages.0.message.role": plain["role"],
        "llm.output_messages.0.message.content": _clip(plain["content"]),
        "output.value": _clip(plain["content"]),
        "gen_ai.output.messages": _clip(_json([plain])),
    }
    for j, call in enumerate(getattr(message, "tool_calls", None) or []):
        prefix = f"llm.output_messages.0.message.tool_calls.{j}.tool_call.function"
        out[f"{prefix}.name"] = str(call.get("name", ""))
        out[f"{prefix}.arguments"] = _clip(_json(call.get("args", {})))
    return out


def _message(message: BaseMessage) -> dict[str, Any]:
    content = message.content if isinstance(message.content, str) else _json(message.content)
    plain: dict[str, Any] = {"role": _ROLES.get(message.type, message.type), "content": content}
    if calls := getattr(message, "tool_calls", None):
        plain["tool_calls"] = [{"name": c.get("name"), "arguments": c.get("args")} for c in calls]
    return plain


def _json(value: Any) -> str:
    return json.dumps(value, default=str, ensure_ascii=False)


def _clip(text: str) -> str:
    return text if len(text) <= CONTENT_LIMIT else text[: CONTENT_LIMIT - 3] + "..."
