"""OpenTelemetry spans for each graph node and each model call, through the OpenTelemetry API only.

With no tracer provider configured the API hands out a no-op tracer, so this costs
nearly nothing; the worker process decides where spans go (OTLP, a test's in-memory
exporter). Spans are parented to the span current when the run started (the
activity's span, under Temporal's tracing plugin), so a trace reads
client start -> workflow -> activity -> node -> model call.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.outputs import LLMResult
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, Status, StatusCode

from reasoning._meter import usage_of

TRACER_NAME = "durable_research.reasoning"


class SpanRecorder(BaseCallbackHandler):
    """A LangChain callback that opens a span per graph node and per chat model call.

    Args:
        graph: the graph key, set on every span as ``graph``.
        model: the model label for call spans when the provider names none (``ls_model_name``).
    """

    def __init__(self, graph: str, model: str) -> None:
        self.graph, self.model = graph, model
        self._tracer = trace.get_tracer(TRACER_NAME)
        self._root = otel_context.get_current()  # taken where the run starts: the activity's context
        self._parents: dict[UUID, UUID | None] = {}
        self._spans: dict[UUID, Span] = {}
        self._nodes: dict[UUID, str] = {}

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
            attributes = {
                "graph": self.graph,
                "node": str(node),
                "step": int((metadata or {}).get("langgraph_step", 0)),
            }
            self._open(run_id, f"node {node}", attributes)
            self._nodes[run_id] = str(node)

    def on_chain_end(self, outputs: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._close(run_id, None)

    def on_chain_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._close(run_id, error)

    def on_chat_model_start(
        self,
        serialized: Any,
        messages: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self._parents[run_id] = parent_run_id
        meta = metadata or {}
        model = str(meta.get("ls_model_name") or self.model)
        node = str(meta.get("langgraph_node", ""))
        self._open(run_id, f"model {model}", {"graph": self.graph, "node": node, "model": model})

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        span = self._spans.get(run_id)
        if span is not None:
            tokens_in, tokens_out = usage_of(response)
            span.set_attributes({"tokens.input": tokens_in, "tokens.output": tokens_out})
        self._close(run_id, None)

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._close(run_id, error)

    def _open(self, run_id: UUID, name: str, attributes: dict[str, Any]) -> None:
        parent = self._nearest_span(self._parents.get(run_id))
        context = trace.set_span_in_context(parent, self._root) if parent is not None else self._root
        self._spans[run_id] = self._tracer.start_span(name, context=context, attributes=attributes)

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
            span.set_status(Status(StatusCode.ERROR, str(error)[:200]))
        span.end()
