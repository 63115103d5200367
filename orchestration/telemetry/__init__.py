"""Observability of the workers: Prometheus runtime, project meters, traces, and model prices."""

from orchestration.telemetry.metrics import (
    PROJECT_METRICS,
    GraphMetrics,
    count_batch_documents,
    count_ingest_chunks,
)
from orchestration.telemetry.prices import Price, PriceTable

__all__ = [
    "PROJECT_METRICS",
    "GraphMetrics",
    "Price",
    "PriceTable",
    "count_batch_documents",
    "count_ingest_chunks",
]
