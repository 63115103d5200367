"""What the call-log tests share: a fake model that fails at a chosen call, a probe run, hashes."""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatResult

from reasoning import (
    CheckpointConfig,
    FakeChatModel,
    GraphContext,
    GraphSpec,
    ResearchInput,
    RunResult,
    Subtask,
    default_registry,
    run_graph,
)
from reasoning.models import read_call_log
from tests.reasoning.call_log.probe_graph import GRAPH
from tests.reasoning.corpus import KeywordRetriever

INPUT = ResearchInput(subtask=Subtask(id="s1", kind="research", question="What does the call log keep?"))


class Crash(RuntimeError):
    """Stands for a worker dying in the middle of a call."""


class FailingFake(FakeChatModel):
    """The fake, except that its `fail_at`-th call (1-based, over this instance) raises before answering."""

    fail_at: int = 0
    _count: int = 0
    _lock: Any = None

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kw: Any
    ) -> ChatResult:
        if self._lock is None:
            object.__setattr__(self, "_lock", threading.Lock())
        with self._lock:
            object.__setattr__(self, "_count", self._count + 1)
            number = self._count
        if number == self.fail_at:
            raise Crash(f"call {number} died in flight")
        return super()._generate(messages, stop, run_manager, **kw)


def probe(
    model: BaseChatModel,
    folder: Path,
    *,
    attempt: int,
    mode: str = "restart",
    thread: str = "job/run/act",
    spec: GraphSpec | None = None,
    graph_input: ResearchInput = INPUT,
    **kw: Any,
) -> RunResult:
    """Run call-probe@1 (or `spec`) on `thread` with `model`, checkpoints and call log under `folder`."""
    return run_graph(
        spec or default_registry.get(GRAPH),
        graph_input,
        context=GraphContext(retriever=KeywordRetriever(), model=model),
        mode=mode,  # type: ignore[arg-type]
        thread_id=thread,
        checkpoint=CheckpointConfig(sqlite_dir=folder / "checkpoints", **kw),
        attempt=attempt,
    )


def paid(log: Path) -> Counter[str]:
    """How many times the fake answered each request (its content hash)."""
    return Counter(c["hash"] for c in read_call_log(log))
