"""Resume mode in one process: a failed run continues where it stopped; misuse is a ConfigError."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.language_models import BaseChatModel

from reasoning import (
    CheckpointConfig,
    ConfigError,
    FakeChatModel,
    GraphContext,
    NodeEvent,
    ResearchInput,
    RetryableModelError,
    Subtask,
    default_registry,
    read_call_log,
    run_graph,
)
from tests.reasoning.corpus import KeywordRetriever
from tests.reasoning.outage import TaskOutage

INPUT = ResearchInput(subtask=Subtask(id="s1", kind="research", question="What is LangGraph?"))


def _ctx(model: BaseChatModel) -> GraphContext:
    return GraphContext(retriever=KeywordRetriever(), model=model)


def test_resume_continues_after_a_failed_node(tmp_path: Path) -> None:
    spec, log = default_registry.get("researcher@1"), tmp_path / "calls.jsonl"
    fake = FakeChatModel(call_log=log)
    checkpoint = CheckpointConfig(sqlite_path=tmp_path / "cp" / "state.sqlite")
    with pytest.raises(RetryableModelError):
        run_graph(
            spec,
            INPUT,
            context=_ctx(TaskOutage(fake=fake)),
            mode="resume",
            thread_id="wf/act",
            checkpoint=checkpoint,
        )
    assert [c["node"] for c in read_call_log(log)] == ["read"]

    events: list[NodeEvent] = []
    result = run_graph(
        spec,
        INPUT,
        context=_ctx(fake),
        mode="resume",
        thread_id="wf/act",
        checkpoint=checkpoint,
        on_node=events.append,
    )
    assert result.resumed and result.nodes_run == ["draft", "check", "finalize"]
    assert [c["node"] for c in read_call_log(log)] == ["read", "draft", "check"]
    assert [e.step for e in events] == [3, 4, 5]  # steps continue where the first run stopped
    fresh = run_graph(spec, INPUT, context=_ctx(FakeChatModel()))
    assert result.output == fresh.output

    again = run_graph(spec, INPUT, context=_ctx(fake), mode="resume", thread_id="wf/act", checkpoint=checkpoint)
    assert again.resumed and again.nodes_run == []  # finished thread: its stored output, nothing re-run
    assert again.output == result.output


def test_resume_misuse_is_a_config_error(fake_ctx: GraphContext, tmp_path: Path) -> None:
    spec = default_registry.get("researcher@1")
    with pytest.raises(ConfigError, match="thread_id"):
        run_graph(
            spec,
            INPUT,
            context=fake_ctx,
            mode="resume",
            checkpoint=CheckpointConfig(sqlite_path=tmp_path / "x.sqlite"),
        )
    with pytest.raises(ConfigError, match="sqlite_path"):
        run_graph(spec, INPUT, context=fake_ctx, mode="resume", thread_id="t")
    with pytest.raises(ConfigError, match="does not validate as ResearchInput"):
        run_graph(spec, {"subtask": {"id": "s1"}}, context=fake_ctx)
    with pytest.raises(ConfigError, match="Unknown mode"):
        run_graph(spec, INPUT, context=fake_ctx, mode="replay")  # type: ignore[arg-type]
