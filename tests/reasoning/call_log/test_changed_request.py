"""A call whose request changed is never answered from the log: another question, another graph
version, another model or another setting of it makes a new call."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from langchain_openai import ChatOpenAI

from reasoning import FakeChatModel, ResearchInput, Subtask, default_registry
from tests.reasoning.call_log.helpers import paid, probe
from tests.reasoning.call_log.probe_graph import CALLS, GRAPH
from tests.support.http_stub import ChatCompletions, serve


def test_another_question_is_not_served_from_the_log(tmp_path: Path) -> None:
    log = tmp_path / "calls.jsonl"
    probe(FakeChatModel(call_log=log), tmp_path, attempt=1)
    other = ResearchInput(subtask=Subtask(id="s1", kind="research", question="Something else entirely?"))
    run = probe(FakeChatModel(call_log=log), tmp_path, attempt=2, graph_input=other)
    assert (run.replayed_calls, run.model_calls) == (0, CALLS)


def test_another_graph_version_is_not_served_from_the_log(tmp_path: Path) -> None:
    log = tmp_path / "calls.jsonl"
    probe(FakeChatModel(call_log=log), tmp_path, attempt=1)
    v2 = dataclasses.replace(default_registry.get(GRAPH), version="2")  # the same factory, another version
    run = probe(FakeChatModel(call_log=log), tmp_path, attempt=2, spec=v2)
    assert (run.replayed_calls, run.model_calls) == (0, CALLS)


class _OpenAIStub(ChatCompletions):
    """An OpenAI-compatible endpoint that counts requests and echoes the model name."""

    def message(self, body: dict[str, Any]) -> dict[str, Any]:
        return {"role": "assistant", "content": f"{body['model']} says {len(self.requests)}"}


def test_another_model_or_setting_is_not_served_from_the_log(tmp_path: Path) -> None:
    _OpenAIStub.requests = []

    def run(port: int, attempt: int, **settings: Any) -> Any:
        model = ChatOpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="k", max_retries=0, **settings)  # type: ignore[arg-type]
        return probe(model, tmp_path, attempt=attempt)

    with serve(_OpenAIStub) as port:
        first = run(port, 1, model="model-a", temperature=0.0)
        same = run(port, 2, model="model-a", temperature=0.0)
        renamed = run(port, 3, model="model-b", temperature=0.0)
        warmer = run(port, 4, model="model-b", temperature=0.7)

    assert (first.model_calls, same.model_calls, same.replayed_calls) == (CALLS, 0, CALLS)
    assert (same.output, same.replayed_input_tokens) == (first.output, 7 * CALLS)
    assert (renamed.model_calls, renamed.replayed_calls) == (CALLS, 0)
    assert (warmer.model_calls, warmer.replayed_calls) == (CALLS, 0)
    assert len(_OpenAIStub.requests) == 3 * CALLS


def test_the_users_model_is_left_as_it_was(tmp_path: Path) -> None:
    model = FakeChatModel(call_log=tmp_path / "calls.jsonl")
    probe(model, tmp_path, attempt=1)
    assert model.cache is None  # the run used a copy
    assert sum(paid(tmp_path / "calls.jsonl").values()) == CALLS
