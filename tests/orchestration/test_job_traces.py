"""One trace from the client's start through the workflow, each activity, each graph node and each model
call (in-memory exporter), and no duplicate spans when every workflow task replays from the start."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio.client import Client
from temporalio.contrib.opentelemetry import OpenTelemetryPlugin, create_tracer_provider
from temporalio.worker import Worker

from orchestration.client import ResearchClient
from orchestration.edge.preflight import check_spec
from orchestration.shared.messages import Tuning
from orchestration.telemetry.tracing import Tracing
from orchestration.worker import WorkerGroup, WorkerSettings, build_workers
from orchestration.workflows import WORKFLOWS
from tests.orchestration.jobs import make_deps, spec, unique_queues


@pytest.fixture(scope="module")
def exporter() -> Iterator[InMemorySpanExporter]:
    """The process's tracer provider (set once per process), replay-safe, exporting to memory."""
    memory = InMemorySpanExporter()
    provider = create_tracer_provider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    Tracing(provider)
    assert trace.get_tracer_provider() is provider, "another test set the global tracer provider first"
    yield memory
    provider.shutdown()  # later tests' spans go nowhere


async def test_one_trace_from_start_to_model_call(
    temporal_client: Client, exporter: InMemorySpanExporter, tmp_path: Path
) -> None:
    config = temporal_client.config()
    config["plugins"] = [OpenTelemetryPlugin(add_temporal_spans=True)]
    client = Client(**config)
    deps = make_deps(tmp_path)
    queues = unique_queues()
    settings = WorkerSettings(graceful_shutdown_s=2)
    # No workflow cache: every workflow task replays the history from the start.
    workers = [
        Worker(client, task_queue=queues.workflows, workflows=WORKFLOWS, max_cached_workflows=0),
        *build_workers(client, deps, queues=queues, settings=settings, run=["reasoning", "io"]),
    ]
    async with WorkerGroup(workers):
        jobs = ResearchClient(client, queues=queues, tuning=Tuning(), artifacts=deps.artifacts, preflight=check_spec)
        handle = await jobs.start(spec())
        result = await handle.result()
    assert result.status == "completed"

    spans = [s for s in exporter.get_finished_spans() if s.context is not None]
    by_id = {s.context.span_id: s for s in spans if s.context}
    names = Counter(s.name for s in spans)
    start = next(s for s in spans if s.name.startswith("StartWorkflow:"))
    assert {s.context.trace_id for s in spans if s.context} == {start.context.trace_id}  # type: ignore[union-attr]

    def ancestors(span: object) -> list[str]:
        chain: list[str] = []
        parent = getattr(span, "parent", None)
        while parent is not None and parent.span_id in by_id:
            chain.append(by_id[parent.span_id].name)
            parent = by_id[parent.span_id].parent
        return chain

    model_calls = [s for s in spans if s.name.startswith("model ")]
    assert len(model_calls) == result.usage.model_calls
    tokens_in = [dict(s.attributes or {}).get("tokens.input", 0) for s in model_calls]
    assert sum(int(str(t)) for t in tokens_in) == result.usage.input_tokens
    assert {s.attributes["model"] for s in model_calls if s.attributes} == {"fake"}
    call = next(s for s in model_calls if s.attributes and s.attributes["graph"] == "researcher@1")
    chain = ancestors(call)
    assert chain[0].startswith("node ") and chain[0] == f"node {call.attributes['node']}"  # type: ignore[index]
    assert chain[1] == "RunActivity:reasoning.run_subtask"
    assert chain[-1] == start.name
    assert any(n.startswith("RunWorkflow:") for n in chain)
    # Replayed workflow tasks add no span: one per activity execution and one run of the workflow.
    assert names["RunActivity:reasoning.plan"] == 1 and names["StartActivity:reasoning.plan"] == 1
    assert names["StartActivity:reasoning.run_subtask"] == len(result.subtasks)
