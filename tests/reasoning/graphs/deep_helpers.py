"""What the deep-researcher tests share: a run with tools, a counting tool, a list-backed sink."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from langchain_core.tools import BaseTool, StructuredTool

from reasoning import (
    CheckpointConfig,
    FakeChatModel,
    GraphContext,
    ResearchInput,
    RunResult,
    Subtask,
    default_registry,
    run_graph,
)
from reasoning.steps import StepAnswer
from reasoning.tools import ToolContext, ToolRegistry, ToolSettings, default_tools
from reasoning.types import Evidence
from tests.reasoning.corpus import KeywordRetriever

GRAPH = "deep-researcher@1"


def research(question: str) -> ResearchInput:
    return ResearchInput(subtask=Subtask(id="s1", kind="research", question=question))


class ListSink:
    """A `DocumentSink` that keeps what tools read in a list (paragraph chunks, content-hash ids)."""

    def __init__(self) -> None:
        self.added: list[Evidence] = []

    def add(self, source: str, title: str, text: str) -> list[Evidence]:
        parts = [p.strip() for p in text.split("\n\n") if p.strip()]
        out = [
            Evidence(
                chunk_id=hashlib.sha256(f"{source}:{p}".encode()).hexdigest()[:16], source=source, title=title, text=p
            )
            for p in parts
        ]
        self.added += out
        return out


def counting_tool(name: str, runs: list[dict[str, Any]], reply: str = "done") -> BaseTool:
    """A tool that records every run in `runs` (so a test sees whether it ran again)."""

    def run(question: str) -> str:
        runs.append({"tool": name, "question": question})
        return f"{reply} ({name}, run {len(runs)})"

    return StructuredTool.from_function(run, name=name, description=f"The test tool {name}.")


def deep_run(
    model: FakeChatModel,
    folder: Path,
    *,
    question: str = "How does a checkpointer resume a graph?",
    tools: list[str] = ("search_memory", "read_document"),  # type: ignore[assignment]
    extra: list[BaseTool] | None = None,
    lifted: dict[str, str] | None = None,
    registry: ToolRegistry | None = None,
    settings: ToolSettings | None = None,
    sink: ListSink | None = None,
    attempt: int = 1,
    mode: str = "restart",
    answers: list[StepAnswer] | None = None,
    spec: Any = None,
) -> RunResult:
    retriever = KeywordRetriever()
    context = ToolContext(retriever=retriever, model=model, settings=settings or ToolSettings(), sink=sink)
    built = [(registry or default_tools).get(name).build(context) for name in tools] + list(extra or [])
    ctx = GraphContext(retriever=retriever, model=model, tools=built, lifted=lifted or {})
    return run_graph(
        spec or default_registry.get(GRAPH), research(question), context=ctx, mode=mode,  # type: ignore[arg-type]
        thread_id="job/run/subtask", checkpoint=CheckpointConfig(sqlite_dir=folder / "checkpoints"),
        attempt=attempt, answers=answers,
    )  # fmt: skip
