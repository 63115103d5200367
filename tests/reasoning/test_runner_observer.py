"""The runner tells its observer of every model call (node, tokens in/out from the provider's usage data)
and every node's wall time, and counts tokens in and out apart."""

from __future__ import annotations

from typing import Any

from reasoning import GraphContext, default_registry
from reasoning.models import FakeChatModel
from reasoning.runner import arun_graph
from reasoning.types import ResearchInput, Subtask


class _Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, int, int]] = []
        self.nodes: list[tuple[str, float, bool]] = []

    def on_model_call(self, node: str, input_tokens: int, output_tokens: int) -> None:
        self.calls.append((node, input_tokens, output_tokens))

    def on_node(self, node: str, seconds: float, ok: bool) -> None:
        self.nodes.append((node, seconds, ok))


class _Retriever:
    def retrieve(self, query: str, k: int = 5) -> list[Any]:
        from reasoning.types import Evidence

        return [Evidence(chunk_id=f"c{i}", source="s.md", text=f"Temporal retries activities {i}.") for i in range(2)]


async def test_observer_sees_calls_and_nodes() -> None:
    recorder = _Recorder()
    subtask = Subtask(id="s1", kind="research", question="How are activities retried?")
    run = await arun_graph(
        default_registry.get("researcher@1"),
        ResearchInput(subtask=subtask),
        context=GraphContext(retriever=_Retriever(), model=FakeChatModel()),
        observer=recorder,
    )
    assert len(recorder.calls) == run.model_calls > 0
    assert sum(c[1] for c in recorder.calls) == run.input_tokens > 0
    assert sum(c[2] for c in recorder.calls) == run.output_tokens > 0
    assert run.tokens == run.input_tokens + run.output_tokens
    assert {c[0] for c in recorder.calls} <= set(run.nodes_run)  # calls are attributed to their node
    assert [n[0] for n in recorder.nodes] == run.nodes_run
    assert all(ok and seconds >= 0 for _, seconds, ok in recorder.nodes)


async def test_a_failing_observer_does_not_fail_the_run() -> None:
    class _Broken(_Recorder):
        def on_model_call(self, node: str, input_tokens: int, output_tokens: int) -> None:
            raise RuntimeError("metrics backend down")

    subtask = Subtask(id="s1", kind="research", question="How are activities retried?")
    run = await arun_graph(
        default_registry.get("researcher@1"),
        ResearchInput(subtask=subtask),
        context=GraphContext(retriever=_Retriever(), model=FakeChatModel()),
        observer=_Broken(),
    )
    assert run.model_calls > 0
