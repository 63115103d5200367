"""A real LLM trace viewer reads a job's trace: `durable-research run` (client and workers in one process,
fake model, tool-using deep-researcher@1 subtasks) exports by OTLP/gRPC to Arize Phoenix, and Phoenix's
REST API shows one trace under the job's session holding the workflow, its activities, the graph nodes,
the model calls with model and tokens, the tool calls with their names, and no prompt text."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestration.telemetry import find_job_trace, phoenix_session_url
from tests.support.cli_jobs import CORPUS, QUESTION, cli, stop_server
from tests.support.traces import PHOENIX_INSTALL_S, Phoenix, free_port, running_phoenix

PROJECT = "durable-research"


@pytest.fixture(scope="session")
def phoenix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Phoenix]:
    with running_phoenix(tmp_path_factory.mktemp("phoenix")) as server:
        yield server


def _trace(phoenix: Phoenix, job_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The job's session and its one trace's spans, once Phoenix has stored them all (it ingests in batches)."""
    deadline, seen = time.monotonic() + 30, -1
    while time.monotonic() < deadline:
        session = phoenix.session(job_id)
        if session and len(session["traces"]) == 1:
            spans = phoenix.spans(PROJECT, session["traces"][0]["trace_id"])
            if len(spans) == seen and any(s["name"].startswith("StartWorkflow:") for s in spans):
                return session, spans
            seen = len(spans)
        time.sleep(0.5)
    raise AssertionError(f"Phoenix has no complete trace for {job_id}: {phoenix.session(job_id)}")


@pytest.mark.slow
@pytest.mark.timeout(PHOENIX_INSTALL_S + 120)  # the first run on a machine builds .venv-phoenix
def test_phoenix_shows_a_jobs_trace_with_model_and_tool_calls(phoenix: Phoenix, tmp_path: Path) -> None:
    home, job_id = tmp_path / "state", f"traced-{tmp_path.name[-8:]}"
    try:
        run = cli(
            home, "run", QUESTION, "--corpus", CORPUS, "--model", "fake", "--graph", "research=deep-researcher@1",
            "--job-id", job_id, "--json", OTEL_EXPORTER_OTLP_ENDPOINT=phoenix.otlp,
        )  # fmt: skip
    finally:
        stop_server(home)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["status"] == "completed"

    session, spans = _trace(phoenix, job_id)
    usage = result["usage"]
    assert session["token_count_prompt"] == usage["input_tokens"] > 0  # Phoenix sums the LLM spans' tokens
    assert session["token_count_completion"] == usage["output_tokens"]
    by_id = {s["context"]["span_id"]: s for s in spans}
    names = Counter(s["name"] for s in spans)
    assert names["StartWorkflow:ResearchJob"] == names["RunWorkflow:ResearchJob"] == 1
    assert names["RunActivity:reasoning.plan"] == 1 and names["RunActivity:reasoning.run_subtask"] >= 1

    calls = [s for s in spans if s["name"].startswith("chat ")]
    assert len(calls) == usage["model_calls"]
    for call in calls:
        a = call["attributes"]
        assert call["span_kind"] == "LLM" and a["gen_ai.operation.name"] == "chat"
        assert a["gen_ai.request.model"] == a["llm.model_name"] == "fake" and a["gen_ai.provider.name"] == "fake"
        assert a["gen_ai.usage.input_tokens"] == a["llm.token_count.prompt"] > 0
        assert a["session.id"] == job_id and a["durable_research.replayed"] is False
        node = by_id[call["parent_id"]]
        assert node["name"].startswith("node ") and node["span_kind"] == "CHAIN"
        activity = by_id[node["parent_id"]]
        assert activity["name"].startswith("RunActivity:reasoning.")
        # Subtasks run side by side in one worker: each call carries its own activity's subtask.
        assert a.get("durable_research.subtask_id") == activity["attributes"].get("durable_research.subtask_id")
    assert len({c["attributes"].get("durable_research.subtask_id") for c in calls} - {None}) == len(result["subtasks"])

    tools = [s for s in spans if s["name"].startswith("execute_tool ")]
    assert tools, "the deep researcher's tool calls have no spans"
    for tool in tools:
        a = tool["attributes"]
        assert tool["span_kind"] == "TOOL" and a["gen_ai.operation.name"] == "execute_tool"
        assert a["gen_ai.tool.name"] == a["tool.name"] == "search_memory" and a["session.id"] == job_id
        assert by_id[tool["parent_id"]]["name"] == "node tools"
    subtask = next(s for s in spans if s["name"] == "RunActivity:reasoning.run_subtask")
    assert subtask["attributes"]["session.id"] == job_id and subtask["attributes"]["durable_research.subtask_id"]

    text = json.dumps(spans)  # content is opt-in: no question, prompt or reply anywhere
    assert QUESTION not in text and "input.value" not in text and "llm.input_messages" not in text

    found = find_job_trace(job_id, phoenix.url)  # what the notebook and the guide use
    assert found.state == "found" and found.trace_ids == (session["traces"][0]["trace_id"],)
    assert found.tokens == (usage["input_tokens"], usage["output_tokens"])
    assert found.url == f"{phoenix.url}/redirects/sessions/{job_id}"
    assert find_job_trace("no-such-job", phoenix.url).state == "missing"


def test_a_trace_link_without_phoenix_says_so() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    found = find_job_trace("job/1 a", url, timeout_s=1)
    assert found.state == "unreachable" and found.url == phoenix_session_url("job/1 a", url)
    assert found.url.endswith("/redirects/sessions/job%2F1%20a")
