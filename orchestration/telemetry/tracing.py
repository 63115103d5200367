"""Traces: Temporal's OpenTelemetry plugin on the client, spans exported by OTLP when an endpoint is set.

`temporalio.contrib.opentelemetry.OpenTelemetryPlugin` with its replay-safe tracer
provider (`create_tracer_provider`) carries one trace from the client's start through
the workflow and each activity; reasoning adds node and model-call spans under the
activity span through the OpenTelemetry API. Without `OTEL_EXPORTER_OTLP_ENDPOINT`
nothing is set up (no plugin, no exporter). An endpoint that does not answer loses
spans, never a job: export runs on a background thread with a short timeout.
"""

from __future__ import annotations

import logging

from opentelemetry import trace
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from temporalio.contrib.opentelemetry import OpenTelemetryPlugin, ReplaySafeTracerProvider, create_tracer_provider

_log = logging.getLogger(__name__)
EXPORT_TIMEOUT_S = 5.0


def tracer_provider(exporter: SpanExporter) -> ReplaySafeTracerProvider:
    """A replay-safe provider (workflow spans are not duplicated on replay) batching spans to `exporter`."""
    provider = create_tracer_provider()
    provider.add_span_processor(BatchSpanProcessor(exporter, export_timeout_millis=int(EXPORT_TIMEOUT_S * 1000)))
    return provider


class Tracing:
    """The process's tracing: the client plugin, and a flush before the process leaves.

    Args:
        provider: the tracer provider to install globally, or None for no tracing.
    """

    def __init__(self, provider: ReplaySafeTracerProvider | None) -> None:
        self.provider = provider
        if provider is not None:
            trace.set_tracer_provider(provider)  # once per process; the API ignores a second one

    @classmethod
    def from_endpoint(cls, endpoint: str | None) -> Tracing:
        """OTLP/gRPC export to `endpoint` (OTEL_EXPORTER_OTLP_ENDPOINT); None: no tracing at all."""
        if not endpoint:
            return cls(None)
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        return cls(tracer_provider(OTLPSpanExporter(endpoint=endpoint, timeout=int(EXPORT_TIMEOUT_S))))

    def plugins(self) -> list[OpenTelemetryPlugin]:
        """For `Client.connect(plugins=...)`: workers built on that client trace too."""
        return [OpenTelemetryPlugin(add_temporal_spans=True)] if self.provider is not None else []

    def flush(self) -> None:
        """Export what is buffered (the CLI leaves with os._exit, which would drop it)."""
        if self.provider is None:
            return
        try:
            self.provider.force_flush(timeout_millis=int(EXPORT_TIMEOUT_S * 1000))
        except Exception:  # telemetry never takes a job down
            _log.warning("could not flush spans", exc_info=True)
