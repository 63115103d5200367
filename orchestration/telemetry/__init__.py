"""Observability of the workers: Prometheus runtime, project meters, traces, and model prices.

`tracing.Tracing` (the OpenTelemetry set-up) is imported from its module: it pulls the SDK in.
"""

from orchestration.telemetry.metrics import (
    PROJECT_METRICS,
    GraphMetrics,
    count_batch_documents,
    count_ingest_chunks,
)
from orchestration.telemetry.prices import Price, PriceTable
from orchestration.telemetry.trace_links import PHOENIX_URL, JobTrace, find_job_trace, phoenix_session_url

__all__ = [
    "PHOENIX_URL",
    "PROJECT_METRICS",
    "GraphMetrics",
    "JobTrace",
    "Price",
    "PriceTable",
    "count_batch_documents",
    "count_ingest_chunks",
    "find_job_trace",
    "phoenix_session_url",
]
