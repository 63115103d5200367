"""`run --detach` with a budget, a `worker --metrics-port` process, `status`, `budget` and `result --json`:
the job stops at its budget, resumes when raised, and its usage matches the worker's Prometheus endpoint.
Both processes export traces to an OTLP endpoint that does not answer: spans are lost, the job is not."""

from __future__ import annotations

import json
import signal
import socket
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from reasoning.models import read_call_log
from tests.support.cli_jobs import CORPUS, QUESTION, cli, cli_json, stop_server, wait_for, worker_process


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _scrape(port: int) -> dict[str, list[tuple[dict[str, str], float]]]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as reply:
        text = reply.read().decode()
    samples: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((sample.labels, sample.value))
    return samples


def _total(samples: dict[str, list[tuple[dict[str, str], float]]], name: str, **labels: str) -> float:
    return sum(v for got, v in samples.get(name, []) if all(got.get(k) == want for k, want in labels.items()))


@pytest.mark.slow
def test_budget_stops_and_resumes_a_job_and_metrics_count_it(tmp_path: Path) -> None:
    home = tmp_path / "state"
    port = _free_port()
    dead_otlp = {"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{_free_port()}"}
    try:
        started = cli_json(
            home, "run", QUESTION, "--corpus", CORPUS, "--model", "fake", "--detach",
            "--max-model-calls", "1", "--budget-wait-s", "120", **dead_otlp,
        )  # fmt: skip
        job = started["job_id"]
        with worker_process(home, "--metrics-port", str(port), **dead_otlp) as worker:
            stopped = wait_for(
                lambda: (s := cli_json(home, "status", job))["phase"] == "awaiting_budget" and s,
                what="the budget stop",
            )
            assert stopped["usage"]["model_calls"] >= 1 and stopped["budget_note"].startswith("model calls")
            human = cli(home, "status", job)
            assert "budget reached" in human.stdout and f"durable-research budget {job}" in human.stdout
            refused = cli(home, "budget", job)
            raised = cli_json(home, "budget", job, "--max-model-calls", "100000")
            assert raised["budget"]["max_model_calls"] == 100000
            # The plan ran past the old limit of 1 call by its other calls (none when it made one).
            over = stopped["usage"]["model_calls"] - 1
            assert raised["over_previous_budget"] == ({"model_calls": over} if over else {})
            assert stopped["over_budget"] == raised["over_previous_budget"]
            result = cli(home, "result", job, "--json")
            metrics = _scrape(port)
            worker.send_signal(signal.SIGTERM)
            _, worker_err = worker.communicate(timeout=60)
    finally:
        stop_server(home)
    assert worker.returncode == 0 and "Traceback" not in worker_err, worker_err
    assert refused.returncode == 2 and "at least one new limit" in refused.stderr
    assert result.returncode == 0, result.stderr
    final = json.loads(result.stdout)
    assert final["status"] == "completed"
    usage = final["usage"]
    calls = read_call_log(home / "calls.jsonl")
    assert usage["model_calls"] == len(calls)
    assert usage["input_tokens"] + usage["output_tokens"] == sum(c["tokens"] for c in calls)

    # The SDK's own worker metrics are served by the same endpoint...
    assert _total(metrics, "temporal_activity_execution_latency_count") > 0
    assert _total(metrics, "temporal_workflow_completed_total") >= 1
    # ...and the project's, with the job's figures.
    assert _total(metrics, "durable_research_model_calls_total") == usage["model_calls"]
    assert _total(metrics, "durable_research_tokens_total", direction="in") == usage["input_tokens"]
    assert _total(metrics, "durable_research_tokens_total", direction="out") == usage["output_tokens"]
    reasoning_steps = 3 + len(final["subtasks"])  # plan, validate, write and one run per subtask
    assert _total(metrics, "durable_research_graph_runs_total", outcome="completed") == reasoning_steps
    assert _total(metrics, "durable_research_graph_node_seconds_count", graph="researcher@1") > 0
    assert _total(metrics, "durable_research_ingest_chunks_total") > 0
    assert all("job" not in labels for values in metrics.values() for labels, _ in values)
