"""Traces: Temporal's OpenTelemetry plugin on the client, spans exported by OTLP when an endpoint is set.

`temporalio.contrib.opentelemetry.OpenTelemetryPlugin` with its replay-safe tracer
provider (`create_tracer_provider`) carries one trace from the client's start through
the workflow and each activity; `JobSpans` puts the job on each activity's span and hands
the job's attributes, the content opt-in and the prices to the graph runs, whose node,
model-call and tool spans (`reasoning.tracing`) go under the activity span. Without
`OTEL_EXPORTER_OTLP_ENDPOINT` nothing is set up (no plugin, no exporter). An endpoint
that does not answer loses spans, never a job: export runs on a background thread with a
short timeout. Spans carry the resource ``service.name`` and Phoenix's project
(``openinference.project.name``) "durable-research", unless ``OTEL_SERVICE_NAME`` or
``OTEL_RESOURCE_ATTRIBUTES`` name them.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from temporalio.contrib.opentelemetry import OpenTelemetryPlugin, ReplaySafeTracerProvider, create_tracer_provider
from temporalio.plugin import SimplePlugin

from orchestration.telemetry.job_spans import JobSpans
from orchestration.telemetry.prices import PriceTable

if TYPE_CHECKING:
    from orchestration.settings import OrchestrationSettings

_log = logging.getLogger(__name__)
EXPORT_TIMEOUT_S = 5.0
SERVICE = "durable-research"
PROJECT_NAME = "openinference.project.name"


def resource() -> Resource:
    """The resource of this process's spans: ours, under what the OTEL_* environment says."""
    detected = Resource.create()
    if str(detected.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):  # no OTEL_SERVICE_NAME
        detected = Resource({k: v for k, v in detected.attributes.items() if k != SERVICE_NAME}, detected.schema_url)
    return Resource({SERVICE_NAME: SERVICE, PROJECT_NAME: SERVICE}).merge(detected)


def tracer_provider(exporter: SpanExporter) -> ReplaySafeTracerProvider:
    """A replay-safe provider (workflow spans are not duplicated on replay) batching spans to `exporter`."""
    provider = create_tracer_provider(resource=resource())
    provider.add_span_processor(BatchSpanProcessor(exporter, export_timeout_millis=int(EXPORT_TIMEOUT_S * 1000)))
    return provider


class Tracing:
    """The process's tracing: the client plugins, and a flush before the process leaves.

    Args:
        provider: the tracer provider to install globally, or None for no tracing.
        content: put prompts, replies, tool arguments and results on spans (default off: they may be secret).
        prices: the worker's price table, for the cost of each model call (``llm.cost.*``).
    """

    def __init__(
        self, provider: ReplaySafeTracerProvider | None, *, content: bool = False, prices: PriceTable | None = None
    ) -> None:
        self.provider = provider
        self.content = content
        self.prices = prices or PriceTable()
        if provider is not None and trace.get_tracer_provider() is not provider:
            trace.set_tracer_provider(provider)  # once per process; the API ignores a second one

    @classmethod
    def from_endpoint(cls, endpoint: str | None, *, content: bool = False, prices: PriceTable | None = None) -> Tracing:
        """OTLP/gRPC export to `endpoint` (OTEL_EXPORTER_OTLP_ENDPOINT); None: no tracing at all."""
        if not endpoint:
            return cls(None)
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(endpoint=endpoint, timeout=int(EXPORT_TIMEOUT_S))
        return cls(tracer_provider(exporter), content=content, prices=prices)

    @classmethod
    def from_settings(cls, settings: OrchestrationSettings) -> Tracing:
        """From the process's settings: the endpoint, the content opt-in and the price table.

        Raises:
            ConfigError: the price table cannot be read (only looked at when tracing is on).
        """
        if not settings.otlp_endpoint:
            return cls(None)
        prices = PriceTable.load(settings.price_table)
        return cls.from_endpoint(settings.otlp_endpoint, content=settings.trace_content, prices=prices)

    def plugins(self) -> list[SimplePlugin]:
        """For `Client.connect(plugins=...)`: workers built on that client trace too."""
        if self.provider is None:
            return []
        job_spans = SimplePlugin(
            "durable_research.JobSpans", interceptors=[JobSpans(content=self.content, prices=self.prices)]
        )
        return [OpenTelemetryPlugin(add_temporal_spans=True), job_spans]  # Temporal's span first, then ours inside

    def flush(self) -> None:
        """Export what is buffered (the CLI leaves with os._exit, which would drop it)."""
        if self.provider is None:
            return
        try:
            self.provider.force_flush(timeout_millis=int(EXPORT_TIMEOUT_S * 1000))
        except Exception:  # telemetry never takes a job down
            _log.warning("could not flush spans", exc_info=True)
