"""docker-compose's Prometheus and Grafana agree with the workers, and every dashboard panel's metric is in a
real worker's scrape (no Docker engine here: the files are parsed, the scrape is a live worker's).

The scraped job runs a graph that fails once mid-run under resume mode, so the retry, resumption and
re-execution metrics are there too, with their values checked.
"""

from __future__ import annotations

import json
import re
import socket
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from prometheus_client.parser import text_string_to_metric_families
from temporalio.client import Client

from orchestration.payloads.converter import data_converter
from orchestration.server import ServerRecord
from orchestration.telemetry.metrics import PROJECT_METRICS
from orchestration.telemetry.runtime import prometheus_runtime
from reasoning import Finding, GraphContext, GraphSpec, ResearchInput, default_registry
from tests.conftest import make_settings
from tests.support.batches import batch_workers, small_spec, start, write_corpus
from tests.support.jobs import running_jobs, spec

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "durable-research.json"
# Recorded by the batch engine's activities (count_batch_documents), which this branch does not have.
BATCH_DOCS = 6

_failed_once: set[str] = set()


def _first(state: dict[str, Any], runtime: Runtime[GraphContext]) -> dict[str, Any]:
    runtime.context.model.invoke("flaky first")
    return {**state, "seen": 1}  # a dict-typed state is replaced whole by each node


def _second(state: dict[str, Any], runtime: Runtime[GraphContext]) -> dict[str, Any]:
    task = state["subtask"]
    runtime.context.model.invoke("flaky second")
    if task["id"] not in _failed_once:  # the first attempt dies here, after its model call
        _failed_once.add(task["id"])
        raise RuntimeError("flaky: fails once")
    runtime.context.model.invoke("flaky second, once more")  # the retry's own (paid) call
    return {
        **state,
        "subtask_id": task["id"], "question": task["question"], "answer": "flaky answer",
        "claims": [], "citations": [], "provider": "flaky",
    }  # fmt: skip


def _make_flaky() -> StateGraph[Any, Any, Any, Any]:
    graph: StateGraph[Any, Any, Any, Any] = StateGraph(dict, context_schema=GraphContext)
    graph.add_node("first", _first)
    graph.add_node("second", _second)
    graph.add_edge(START, "first")
    graph.add_edge("first", "second")
    graph.add_edge("second", END)
    return graph


FLAKY = GraphSpec("flaky", "1", _make_flaky, ResearchInput, Finding, "Fails once after a checkpoint.")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def flaky_registered() -> Iterator[None]:
    default_registry.add(FLAKY)
    try:
        yield
    finally:
        default_registry.unregister(FLAKY.key)


async def _scrape_after_a_job(server: ServerRecord, home: Path) -> tuple[dict[str, float], dict[str, float], Any]:
    """Totals per sample name over the whole scrape, the same for the research job's reasoning queue
    only (the batch's graph runs count in the same series), and the job's result."""
    port = _free_port()
    runtime = prometheus_runtime(port, "127.0.0.1", warn=pytest.fail)
    client = await Client.connect(
        server.address, namespace=server.namespace, runtime=runtime,
        data_converter=data_converter(make_settings(home)),
    )  # fmt: skip
    async with running_jobs(client, home) as jobs:
        handle = await jobs.start(spec(graphs={"research": "flaky@1"}, recovery="resume", validation_rounds=0))
        result = await handle.result()
        job_queue = jobs.queues.reasoning
    # A small batch through the same runtime, for the batch engine's documents counter.
    corpus = write_corpus(home / "batch-corpus", BATCH_DOCS)
    async with batch_workers(client, home / "batch") as (batches, deps):
        batch = await start(batches, deps, small_spec(approval={"required": False}), [str(corpus)], "metrics-batch")
        assert (await batch.result()).done == BATCH_DOCS
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as reply:
        text = reply.read().decode()
    totals: dict[str, float] = {}
    job: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            totals[sample.name] = totals.get(sample.name, 0.0) + sample.value
            if sample.labels.get("queue") == job_queue:
                job[sample.name] = job.get(sample.name, 0.0) + sample.value
    return totals, job, result


def _panel_metrics(dashboard: dict[str, Any]) -> set[str]:
    names: set[str] = set()
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            names |= set(re.findall(r"\b((?:durable_research|temporal)_[a-z0-9_]+)", target["expr"]))
    return names


def test_compose_prometheus_and_grafana_agree() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    workers = {name: s for name, s in services.items() if "worker" in s.get("command", [])}
    ports = {str(s["environment"]["DURABLE_RESEARCH_METRICS_PORT"]) for s in workers.values()}
    assert len(ports) == 1 and all(
        s["environment"]["DURABLE_RESEARCH_METRICS_HOST"] == "0.0.0.0" for s in workers.values()
    )

    mounts = {m.split(":")[1]: ROOT / m.split(":")[0] for m in services["prometheus"]["volumes"] if m.startswith("./")}
    prometheus = yaml.safe_load(mounts["/etc/prometheus/prometheus.yml"].read_text())
    scraped = [sd for job in prometheus["scrape_configs"] for sd in job["dns_sd_configs"]]
    assert {name for sd in scraped for name in sd["names"]} == set(workers)  # every worker, nothing else
    assert {str(sd["port"]) for sd in scraped} == ports

    grafana = {m.split(":")[1]: ROOT / m.split(":")[0] for m in services["grafana"]["volumes"]}
    provisioning = grafana["/etc/grafana/provisioning"]
    source = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())["datasources"][0]
    assert source["url"] == "http://prometheus:9090" and "prometheus" in services
    provider = yaml.safe_load((provisioning / "dashboards" / "durable-research.yml").read_text())["providers"][0]
    assert grafana[provider["options"]["path"]] == DASHBOARD.parent
    dashboard = json.loads(DASHBOARD.read_text())
    uids = {t["datasource"]["uid"] for p in dashboard["panels"] for t in p["targets"]}
    assert uids == {source["uid"]}
    # Every project metric is on the dashboard (Prometheus adds `_total` to counters).
    shown = {re.sub(r"_(total|bucket|count|sum)$", "", m) for m in _panel_metrics(dashboard)}
    assert set(PROJECT_METRICS) - {"durable_research_cost_microusd"} <= shown | {"durable_research_cost_microusd"}
    assert set(PROJECT_METRICS) <= shown


async def test_every_panel_metric_is_in_a_real_scrape(
    temporal_server: ServerRecord, tmp_path: Path, flaky_registered: None
) -> None:
    totals, job, result = await _scrape_after_a_job(temporal_server, tmp_path)
    assert result.status == "completed"
    missing = (
        _panel_metrics(json.loads(DASHBOARD.read_text()))
        - {n.removesuffix("_bucket") for n in totals}
        - {n for n in totals}
    )
    assert not missing, missing
    assert totals["durable_research_batch_documents_total"] == BATCH_DOCS

    subtasks = len(result.subtasks)
    # Each flaky subtask: attempt 1 runs both nodes and fails; attempt 2 resumes at `second`, gets
    # attempt 1's call there back from the call log, and makes one new call.
    assert job["durable_research_graph_runs_total"] == 3 + 2 * subtasks
    assert job["durable_research_resumed_runs_total"] == subtasks
    assert job["durable_research_replayed_model_calls_total"] == subtasks
    assert job["durable_research_reexecuted_model_calls_total"] == subtasks
    assert result.usage.replayed_calls == subtasks
    assert totals["temporal_activity_execution_failed_total"] == subtasks
    assert totals["durable_research_job_phases_total"] >= 6  # planning .. completed
    assert job["durable_research_cost_microusd_total"] == 0  # the fake model is free
    # A failed attempt's two calls are in no activity result: the retry reports them from the usage
    # ledger, so the job's usage and the metrics agree.
    assert job["durable_research_model_calls_total"] == result.usage.model_calls
    assert (result.usage.lost_attempts, result.usage.lost_model_calls) == (subtasks, 2 * subtasks)
