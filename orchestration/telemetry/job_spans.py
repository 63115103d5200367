"""The job on a worker's activity spans and on every span a graph run makes under them.

Temporal's tracing plugin gives each activity a span named after its type. This worker
interceptor runs inside that span and adds what an LLM trace viewer groups and filters by:
the job id as OpenInference's ``session.id`` (Phoenix groups a job's traces by it, Langfuse
reads it too) and as ``gen_ai.conversation.id``, and ``durable_research.job_id``,
``.subtask_id``, ``.graph``, ``.attempt``. A lifted tool's activity becomes a TOOL span
(``gen_ai.operation.name=execute_tool``, ``gen_ai.tool.name``); a result carrying a `Usage`
puts what the activity spent, priced, on its span.

The same attributes, the operator's content opt-in and the price table reach the graph runs
the activity starts as their `reasoning.tracing.TraceOptions`, in the OpenTelemetry context
under `TRACE_OPTIONS_KEY` (structurally: the import rules keep telemetry from importing
reasoning, so the key is written on both sides and a test checks they agree). Nothing here
may fail an activity: what cannot be described is logged, and the activity runs undescribed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.util.types import AttributeValue
from temporalio import activity
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

from orchestration.shared import names
from orchestration.shared.usage import Usage
from orchestration.telemetry.prices import PriceTable

TRACE_OPTIONS_KEY = "durable_research.trace_options"
"""Must equal `reasoning.tracing.TRACE_OPTIONS_KEY`."""
SESSION_ID, CONVERSATION_ID, SPAN_KIND = "session.id", "gen_ai.conversation.id", "openinference.span.kind"
JOB_ID, SUBTASK_ID = "durable_research.job_id", "durable_research.subtask_id"
GRAPH, ATTEMPT = "durable_research.graph", "durable_research.attempt"
USAGE = "durable_research.usage"

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobTraceOptions:
    """A `reasoning.tracing.TraceOptions` for the graph runs of one activity.

    Attributes:
        attributes: the job's attributes, set on every span of the runs.
        content: the operator opted into prompts and replies on spans.
        provider: the job's model provider, for prices.
        prices: the worker's price table (offline providers cost zero without one).
    """

    attributes: Mapping[str, AttributeValue] = field(default_factory=dict)
    content: bool = False
    provider: str = ""
    prices: PriceTable = field(default_factory=PriceTable)

    def price(self, model: str, input_tokens: int, output_tokens: int) -> tuple[float, float] | None:
        """US dollars for the input and output tokens of one call to `model`; None: not in the table."""
        if not self.provider:
            return None
        price = self.prices.price(self.provider, None if model == self.provider else model)
        if price is None:
            return None
        return input_tokens * price.input_per_million / 1e6, output_tokens * price.output_per_million / 1e6


class JobSpans(Interceptor):
    """Worker interceptor describing each activity's span and its graph runs' spans (module docstring).

    Args:
        content: put prompts, replies, tool arguments and results on the graph runs' spans.
        prices: the worker's price table, for ``llm.cost.*`` on model-call spans.
    """

    def __init__(self, *, content: bool = False, prices: PriceTable | None = None) -> None:
        self.content = content
        self.prices = prices or PriceTable()

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _Inbound(next, self)


class _Inbound(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, owner: JobSpans) -> None:
        super().__init__(next)
        self._owner = owner

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        options = self._describe(input)
        if options is None:
            return await super().execute_activity(input)
        span = trace.get_current_span()  # the activity's span: Temporal's interceptor runs outside this one
        token = otel_context.attach(otel_context.set_value(TRACE_OPTIONS_KEY, options))
        try:
            result = await super().execute_activity(input)
        finally:
            otel_context.detach(token)
        _record_usage(span, result)
        return result

    def _describe(self, input: ExecuteActivityInput) -> JobTraceOptions | None:
        try:
            info = activity.info()
            request = input.args[0] if input.args else None
            job_id = str(getattr(request, "job_id", "") or info.workflow_id or "")
            attributes: dict[str, AttributeValue] = {ATTEMPT: info.attempt}
            if job_id:
                attributes |= {SESSION_ID: job_id, CONVERSATION_ID: job_id, JOB_ID: job_id}
            if subtask := getattr(getattr(request, "subtask", None), "id", None):
                attributes[SUBTASK_ID] = str(subtask)
            span_attributes: dict[str, AttributeValue] = {**attributes, SPAN_KIND: "CHAIN"}
            if graph := getattr(request, "graph", None):
                span_attributes[GRAPH] = str(graph)
            if info.activity_type == names.RUN_TOOL and (tool := getattr(request, "tool", None)):
                span_attributes |= {
                    SPAN_KIND: "TOOL", "gen_ai.operation.name": "execute_tool",
                    "gen_ai.tool.name": str(tool), "tool.name": str(tool),
                }  # fmt: skip
            trace.get_current_span().set_attributes(span_attributes)
            provider = str(getattr(getattr(request, "model", None), "provider", "") or "")
            return JobTraceOptions(attributes, self._owner.content, provider, self._owner.prices)
        except Exception:  # telemetry never takes a job down
            _log.warning("activity span not described", exc_info=True)
            return None


def _record_usage(span: trace.Span, result: Any) -> None:
    usage = getattr(result, "usage", None)
    if not isinstance(usage, Usage):
        return
    try:
        span.set_attributes({
            f"{USAGE}.model_calls": usage.model_calls, f"{USAGE}.input_tokens": usage.input_tokens,
            f"{USAGE}.output_tokens": usage.output_tokens, f"{USAGE}.cost_usd": usage.cost_usd,
            f"{USAGE}.unpriced_calls": usage.unpriced_calls, f"{USAGE}.replayed_calls": usage.replayed_calls,
        })  # fmt: skip
    except Exception:
        _log.warning("activity usage not put on its span", exc_info=True)
