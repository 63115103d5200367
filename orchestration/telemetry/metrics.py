"""Project meters on Temporal's metric meter: what graphs, ingests and batches do, in Prometheus.

Every name starts with ``durable_research_``. Labels stay low-cardinality: graph, node,
model, queue, and small enums (direction, outcome); never a job or subtask id. The
meters go through ``activity.metric_meter()``, so they reach whatever the worker's
runtime exports (Prometheus endpoint, notebook MetricBuffer) and nothing otherwise.
"""

from __future__ import annotations

import logging
from typing import Literal

from temporalio.common import MetricMeter

from orchestration.shared.names import JOB_PHASES_METRIC
from orchestration.shared.usage import Usage

PREFIX = "durable_research_"
MODEL_CALLS = PREFIX + "model_calls"
TOKENS = PREFIX + "tokens"
COST = PREFIX + "cost_microusd"
NODE_SECONDS = PREFIX + "graph_node_seconds"
GRAPH_RUNS = PREFIX + "graph_runs"
RESUMED_RUNS = PREFIX + "resumed_runs"
REEXECUTED_CALLS = PREFIX + "reexecuted_model_calls"
REPLAYED_CALLS = PREFIX + "replayed_model_calls"
REPLAYED_TOKENS = PREFIX + "replayed_tokens"
INGEST_CHUNKS = PREFIX + "ingest_chunks"
BATCH_DOCUMENTS = PREFIX + "batch_documents"
JOB_PHASES = JOB_PHASES_METRIC
PROJECT_METRICS = (
    MODEL_CALLS, TOKENS, COST, NODE_SECONDS, GRAPH_RUNS, RESUMED_RUNS, REEXECUTED_CALLS, REPLAYED_CALLS,
    REPLAYED_TOKENS, INGEST_CHUNKS, BATCH_DOCUMENTS, JOB_PHASES,
)  # fmt: skip
"""Every project metric name (the Grafana dashboard test checks panels against these and a scrape)."""

RunOutcome = Literal["completed", "failed", "budget", "cancelled"]
_log = logging.getLogger(__name__)


class GraphMetrics:
    """One graph run's meters; a `reasoning.observer.RunObserver` (structurally: no import needed).

    Args:
        meter: the activity's metric meter.
        graph: the pinned graph key, e.g. ``researcher@1``.
        model: ``provider`` or ``provider:model``.
        queue: the task queue the activity ran on.
        attempt: the activity attempt; model calls of attempts after the first count as
            re-executed (the retry paid for them again, or for the ones a resume skipped not).
    """

    def __init__(self, meter: MetricMeter, *, graph: str, model: str, queue: str, attempt: int) -> None:
        labelled = meter.with_additional_attributes({"graph": graph, "model": model, "queue": queue})
        self._attempt = attempt
        self._calls = labelled.create_counter(MODEL_CALLS, "Chat model calls that returned.")
        self._tokens = labelled.create_counter(TOKENS, "Model tokens, by direction (in, out).")
        self._cost = labelled.create_counter(COST, "Model cost in millionths of a US dollar (price table).")
        self._node_seconds = labelled.create_histogram_float(NODE_SECONDS, "Wall time of one graph node.", "s")
        self._runs = labelled.create_counter(GRAPH_RUNS, "Graph runs (activity attempts), by outcome.")
        self._resumed = labelled.create_counter(RESUMED_RUNS, "Graph runs that continued from a checkpoint.")
        self._reexecuted = labelled.create_counter(REEXECUTED_CALLS, "Model calls made by a retried attempt.")
        self._replayed = labelled.create_counter(REPLAYED_CALLS, "Model calls answered from the call log (not paid).")
        self._replayed_tokens = labelled.create_counter(
            REPLAYED_TOKENS, "Tokens of replayed model calls (not spent again), by direction."
        )

    def on_model_call(self, node: str, input_tokens: int, output_tokens: int) -> None:
        labels = {"node": node or "unknown"}
        self._calls.add(1, labels)
        self._tokens.add(input_tokens, labels | {"direction": "in"})
        self._tokens.add(output_tokens, labels | {"direction": "out"})
        if self._attempt > 1:
            self._reexecuted.add(1, labels)

    def on_replayed_call(self, node: str, input_tokens: int, output_tokens: int) -> None:
        labels = {"node": node or "unknown"}
        self._replayed.add(1, labels)
        self._replayed_tokens.add(input_tokens, labels | {"direction": "in"})
        self._replayed_tokens.add(output_tokens, labels | {"direction": "out"})

    def on_node(self, node: str, seconds: float, ok: bool) -> None:
        self._node_seconds.record(seconds, {"node": node, "outcome": "completed" if ok else "failed"})

    def run_finished(self, outcome: RunOutcome, *, resumed: bool, usage: Usage | None) -> None:
        """Count the run; a finished one adds its cost (known only once the price table priced it)."""
        self._runs.add(1, {"outcome": outcome})
        if resumed:
            self._resumed.add(1)
        if usage is not None:  # zero too, so the series exists for dashboards before the first paid call
            self._cost.add(round(usage.cost_usd * 1_000_000))


def count_ingest_chunks(meter: MetricMeter, chunks: int, *, queue: str, outcome: str = "added") -> None:
    """Chunks an ingest activity processed (outcome: added, unchanged, replaced)."""
    _add(meter, INGEST_CHUNKS, "Chunks ingested, by outcome.", chunks, {"queue": queue, "outcome": outcome})


def count_batch_documents(meter: MetricMeter, documents: int, *, queue: str, outcome: str = "done") -> None:
    """For the batch engine: documents a batch activity finished (outcome: done, failed, reused).

    Call it from the activity with ``activity.metric_meter()`` and
    ``activity.info().task_queue``; a telemetry failure is logged, never raised.
    """
    labels = {"queue": queue, "outcome": outcome}
    _add(meter, BATCH_DOCUMENTS, "Batch documents processed, by outcome.", documents, labels)


def _add(meter: MetricMeter, name: str, description: str, value: int, labels: dict[str, str]) -> None:
    if value <= 0:
        return
    try:
        meter.create_counter(name, description).add(value, labels)
    except Exception:  # telemetry never takes a job down
        _log.warning("metric %s not recorded", name, exc_info=True)
