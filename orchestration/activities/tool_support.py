"""Tools for a graph activity: built from the registry for what the spec allows, writing into the job's memory.

A subtask's graph gets exactly the tools its spec names for its kind (the read-only built-ins
when it names none): a page that asks the model for another tool cannot reach one. Tools that
read documents index them into the job's collection (`MemorySink`: the corpus's own chunker and
content-hash ids, so a retry adds nothing and later subtasks, the validator and citations see
them). A lifted tool (`durable="activity"`) is run here too, as the workflow's `run_tool` activity.
"""

from __future__ import annotations

from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool

from orchestration.activities.deps import WorkerDeps
from orchestration.shared.steps import BUILT_IN_TOOLS
from reasoning.context import MemoryRetriever
from reasoning.tools import ToolContext
from reasoning.types import Evidence
from retrieval import MemorySettings, SemanticMemory, ingest_text


class MemorySink:
    """`reasoning.tools.DocumentSink` over the job's semantic memory."""

    def __init__(self, memory: SemanticMemory, settings: MemorySettings) -> None:
        self._memory, self._settings = memory, settings

    def add(self, source: str, title: str, text: str) -> list[Evidence]:
        ids = ingest_text(f"tool:{source}", text, self._memory, settings=self._settings, title=title)
        docs = {d.id: d for d in self._memory.get(ids)}
        return [
            Evidence(chunk_id=i, source=source, title=title, text=docs[i].text, score=1.0) for i in ids if i in docs
        ]


def tool_context(deps: WorkerDeps, memory: SemanticMemory, model: BaseChatModel) -> ToolContext:
    return ToolContext(
        retriever=MemoryRetriever(memory), model=model, settings=deps.tool_settings,
        sink=MemorySink(memory, deps.memory_settings), artifacts=deps.artifacts,
    )  # fmt: skip


def build_tools(
    deps: WorkerDeps, names: list[str] | None, context: ToolContext
) -> tuple[list[BaseTool], dict[str, str]]:
    """The tools named (the built-ins for None) and which of them the workflow runs (name -> who).

    Raises:
        ToolNotFoundError: a name no tool is registered under (checked before the job starts too).
    """
    specs = [deps.tools.get(name) for name in (BUILT_IN_TOOLS if names is None else names)]
    tools = [spec.build(context) for spec in specs]
    return tools, {spec.name: spec.durable for spec in specs if spec.durable != "inline"}


def run_lifted_tool(deps: WorkerDeps, name: str, args: dict[str, Any], context: ToolContext) -> dict[str, Any]:
    """Run one lifted tool; its text for the model and the passages it indexed (to cite)."""
    tool = deps.tools.get(name).build(context)
    call = {"name": name, "args": args, "id": "lifted", "type": "tool_call"}
    message = tool.invoke(call)
    if isinstance(message, ToolMessage):
        return {"content": str(message.content), "artifact": list(message.artifact or [])}
    return {"content": str(message), "artifact": []}
