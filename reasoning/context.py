"""What a graph gets at run time: a retriever and a chat model, through LangGraph's context."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from langchain_core.language_models import BaseChatModel

from reasoning.types import Evidence


@runtime_checkable
class Retriever(Protocol):
    """Finds evidence for a query; graphs depend on this, never on a store."""

    def retrieve(self, query: str, k: int = 5) -> list[Evidence]: ...


class _Memory(Protocol):
    def query(self, text: str, k: int, where: dict[str, Any] | None) -> list[Any]: ...


class MemoryRetriever:
    """Adapts a `retrieval.SemanticMemory` (anything with `query(text, k, where)`) to Retriever.

    Args:
        memory: the semantic memory; its hits need `id`, `text`, `score`, `metadata`.
        where: an optional metadata filter applied to every query (e.g. one job's corpus).
    """

    def __init__(self, memory: _Memory, *, where: dict[str, Any] | None = None) -> None:
        self._memory = memory
        self._where = where

    def retrieve(self, query: str, k: int = 5) -> list[Evidence]:
        hits = self._memory.query(query, k, self._where)
        return [_to_evidence(hit) for hit in hits]


def _to_evidence(hit: Any) -> Evidence:
    metadata = dict(getattr(hit, "metadata", None) or {})
    return Evidence(
        chunk_id=str(hit.id),
        source=str(metadata.get("source", "")),
        title=str(metadata.get("title", "")),
        text=str(hit.text),
        score=float(getattr(hit, "score", 0.0) or 0.0),
    )


@dataclass
class GraphContext:
    """Passed as LangGraph runtime context (`context_schema`), so graphs use no globals.

    Attributes:
        retriever: where evidence comes from.
        model: the chat model every model-using node calls.
        params: graph-specific knobs (e.g. ``k``, ``max_rounds``); unknown keys are ignored.
        tools: the tools this run may call (a tool-using graph binds these and no other).
        lifted: of those, the ones the workflow runs (name -> "activity" or "human"): calling one
            stops the graph until the workflow answers (`reasoning.call_log.tool_calls`).
        max_tool_calls: tool calls one run may make before it must answer.
        max_tool_errors: failed tool calls tolerated before a run stops calling tools.
    """

    retriever: Retriever
    model: BaseChatModel
    params: dict[str, Any] = field(default_factory=dict)
    tools: list[Any] = field(default_factory=list)
    lifted: dict[str, str] = field(default_factory=dict)
    max_tool_calls: int = 12
    max_tool_errors: int = 3
