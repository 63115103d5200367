"""One trace from the client's start through the workflow, each activity, each graph node and each model
call (in-memory exporter), named in the GenAI and OpenInference conventions, the job on every span, no
prompt text by default, and no duplicate spans when every workflow task replays from the start."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from temporalio.client import Client
from temporalio.worker import Worker

from orchestration.client import ResearchClient
from orchestration.edge.preflight import check_spec
from orchestration.settings import OrchestrationSettings
from orchestration.shared.messages import Tuning
from orchestration.telemetry import job_spans
from orchestration.telemetry import tracing as telemetry_tracing
from orchestration.telemetry.prices import PriceTable
from orchestration.worker import WorkerGroup, WorkerSettings, build_workers
from orchestration.workflows import WORKFLOWS
from reasoning import tracing
from tests.support.jobs import make_deps, spec, unique_queues
from tests.support.traces import attributes_text, captured_spans, process_tracing


def test_the_trace_options_contract_agrees_across_the_import_boundary() -> None:
    assert job_spans.TRACE_OPTIONS_KEY == tracing.TRACE_OPTIONS_KEY
    options = job_spans.JobTraceOptions({"session.id": "j"}, True, "openai", PriceTable.model_validate(
        {"prices": {"openai:gpt-x": {"input_per_million": 2.0, "output_per_million": 8.0}}}
    ))  # fmt: skip
    assert isinstance(options, tracing.TraceOptions)
    assert options.price("gpt-x", 1_000_000, 500_000) == (2.0, 4.0)
    assert options.price("gpt-unlisted", 10, 10) is None
    assert job_spans.JobTraceOptions({}, False, "fake").price("fake", 10, 10) == (0.0, 0.0)


async def test_one_trace_from_start_to_model_call(temporal_client: Client, tmp_path: Path) -> None:
    config = temporal_client.config()
    config["plugins"] = process_tracing().plugins()
    client = Client(**config)
    deps = make_deps(tmp_path)
    queues = unique_queues()
    settings = WorkerSettings(graceful_shutdown_s=2)
    job = spec()
    with captured_spans() as memory:
        # No workflow cache: every workflow task replays the history from the start.
        workers = [
            Worker(client, task_queue=queues.workflows, workflows=WORKFLOWS, max_cached_workflows=0),
            *build_workers(client, deps, queues=queues, settings=settings, run=["reasoning", "io"]),
        ]
        async with WorkerGroup(workers):
            jobs = ResearchClient(
                client, queues=queues, tuning=Tuning(), artifacts=deps.artifacts, preflight=check_spec
            )
            handle = await jobs.start(job, job_id=f"traced-{tmp_path.name[-12:]}")
            result = await handle.result()
    assert result.status == "completed"

    spans = [s for s in memory.get_finished_spans() if s.context is not None]
    by_id = {s.context.span_id: s for s in spans if s.context}
    names = Counter(s.name for s in spans)
    start = next(s for s in spans if s.name.startswith("StartWorkflow:"))
    assert {s.context.trace_id for s in spans if s.context} == {start.context.trace_id}  # type: ignore[union-attr]

    def ancestors(span: ReadableSpan) -> list[str]:
        chain: list[str] = []
        parent = span.parent
        while parent is not None and parent.span_id in by_id:
            chain.append(by_id[parent.span_id].name)
            parent = by_id[parent.span_id].parent
        return chain

    def attrs(span: ReadableSpan) -> dict[str, object]:
        return dict(span.attributes or {})

    calls = [s for s in spans if s.name.startswith("chat ")]
    assert len(calls) == result.usage.model_calls
    assert sum(int(str(attrs(s)["gen_ai.usage.input_tokens"])) for s in calls) == result.usage.input_tokens
    assert sum(int(str(attrs(s)["llm.token_count.completion"])) for s in calls) == result.usage.output_tokens
    for call in calls:
        a = attrs(call)
        assert a["gen_ai.operation.name"] == "chat" and a["openinference.span.kind"] == "LLM"
        assert a["gen_ai.request.model"] == a["llm.model_name"] == "fake" and a["gen_ai.provider.name"] == "fake"
        assert a["durable_research.replayed"] is False and a["llm.cost.total"] == 0.0  # the fake is free
        assert a["session.id"] == a["durable_research.job_id"] == handle.job_id
    call = next(s for s in calls if attrs(s)["durable_research.graph"] == "researcher@1")
    chain = ancestors(call)
    assert chain[0] == f"node {attrs(call)['durable_research.node']}"
    assert chain[1] == "RunActivity:reasoning.run_subtask"
    assert chain[-1] == start.name
    assert any(n.startswith("RunWorkflow:") for n in chain)
    activity = by_id[call.parent.span_id].parent  # type: ignore[union-attr]
    run_subtask = attrs(by_id[activity.span_id])  # type: ignore[union-attr]
    assert run_subtask["session.id"] == handle.job_id and run_subtask["openinference.span.kind"] == "CHAIN"
    assert run_subtask["durable_research.subtask_id"] == attrs(call)["durable_research.subtask_id"]
    assert int(str(run_subtask["durable_research.usage.model_calls"])) >= 1
    nodes = [s for s in spans if s.name.startswith("node ")]
    assert nodes and all(attrs(s)["openinference.span.kind"] == "CHAIN" for s in nodes)
    # Content is opt-in: no prompt, reply or question on any span by default.
    text = attributes_text(spans)
    assert job["question"] not in text and "input.value" not in text and "llm.input_messages" not in text
    # Replayed workflow tasks add no span: one per activity execution and one run of the workflow.
    assert names["RunActivity:reasoning.plan"] == 1 and names["StartActivity:reasoning.plan"] == 1
    assert names["StartActivity:reasoning.run_subtask"] == len(result.subtasks)


def test_the_settings_turn_content_on_and_bring_the_prices(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "DURABLE_RESEARCH_OTLP_ENDPOINT", "DURABLE_RESEARCH_PRICE_TABLE"):
        monkeypatch.delenv(name, raising=False)
    assert telemetry_tracing.Tracing.from_settings(OrchestrationSettings()).plugins() == []  # no endpoint: nothing
    prices = tmp_path / "prices.json"
    prices.write_text('{"openai": {"input_per_million": 1, "output_per_million": 2}}')
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1")
    monkeypatch.setenv("DURABLE_RESEARCH_TRACE_CONTENT", "true")
    monkeypatch.setenv("DURABLE_RESEARCH_PRICE_TABLE", str(prices))
    provider = process_tracing().provider
    monkeypatch.setattr(telemetry_tracing, "tracer_provider", lambda exporter: provider)  # no second provider
    traced = telemetry_tracing.Tracing.from_settings(OrchestrationSettings())
    assert traced.content and traced.prices.price("openai", None) is not None
    interceptors = [i for plugin in traced.plugins() for i in getattr(plugin, "interceptors", None) or []]
    assert any(isinstance(i, job_spans.JobSpans) and i.content for i in interceptors)


async def test_prompts_are_on_spans_only_when_the_operator_opts_in(temporal_client: Client, tmp_path: Path) -> None:
    config = temporal_client.config()
    config["plugins"] = process_tracing(content=True).plugins()
    client = Client(**config)
    deps, queues = make_deps(tmp_path), unique_queues()
    job = spec(max_subtasks=1, validation_rounds=0)
    with captured_spans() as memory:
        workers = build_workers(client, deps, queues=queues, settings=WorkerSettings(graceful_shutdown_s=2))
        async with WorkerGroup(workers):
            jobs = ResearchClient(
                client, queues=queues, tuning=Tuning(), artifacts=deps.artifacts, preflight=check_spec
            )
            result = await (await jobs.start(job)).result()
    assert result.status == "completed"
    plan = next(s for s in memory.get_finished_spans() if s.name.startswith("chat ") and
                dict(s.attributes or {})["durable_research.graph"].startswith("planner"))  # fmt: skip
    attributes = dict(plan.attributes or {})
    assert job["question"] in str(attributes["input.value"]) and attributes["output.value"]
