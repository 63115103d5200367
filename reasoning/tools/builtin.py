"""Built-in tools that read what the job already has (its memory, its documents) and one that asks a person."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from langchain_core.tools import BaseTool, StructuredTool

from reasoning.errors import ConfigError
from reasoning.tools.base import ToolContext, register_tool
from reasoning.types import Evidence

_EXCERPT = 700  # characters of each hit the model reads; the whole chunk is in the artifact


def evidence_lines(evidence: list[Evidence], limit: int = 6000) -> str:
    """Evidence as the model reads it: one block per chunk, its id first (what a claim cites)."""
    blocks, used = [], 0
    for e in evidence:
        block = f"[{e.chunk_id}] {e.title or e.source}: {' '.join(e.text.split())[:_EXCERPT]}"
        if used + len(block) > limit:
            break
        blocks.append(block)
        used += len(block)
    return "\n".join(blocks)


@register_tool("search_memory", description="Hybrid search over the job's indexed documents.")
def make_search_memory(context: ToolContext) -> BaseTool:
    k_default = int(context.params.get("k", 5))

    def search_memory(query: str, k: int = k_default) -> tuple[str, list[dict[str, Any]]]:
        hits = context.retriever.retrieve(query, max(1, min(int(k), 20)))
        if not hits:
            return f"No indexed passage matches {query!r}.", []
        return evidence_lines(hits), [h.model_dump(mode="json") for h in hits]

    return StructuredTool.from_function(
        search_memory,
        name="search_memory",
        description=(
            "Search the documents indexed for this job (keyword and meaning). Returns passages, each with "
            "a [chunk_id] to cite. Use short, specific queries; search again with other words when a first "
            "search misses."
        ),
        response_format="content_and_artifact",
    )


@register_tool("read_document", description="Read a document under the allowed folder, or one of the job's artifacts.")
def make_read_document(context: ToolContext) -> BaseTool:
    settings = context.settings

    def read_document(path: str) -> tuple[str, list[dict[str, Any]]]:
        text, source, title, problem = _read(path, context)
        if problem is not None:
            return f"read_document refused {path!r}: {problem}", []
        if context.sink is None:
            return f"{title or source}:\n{text[:6000]}", []
        evidence = context.sink.add(source, title, text)
        return f"Read {source} ({len(evidence)} passages indexed):\n{evidence_lines(evidence)}", [
            e.model_dump(mode="json") for e in evidence
        ]

    root = f" under {settings.documents_root}" if settings.documents_root else " (no folder is allowed)"
    return StructuredTool.from_function(
        read_document,
        name="read_document",
        description=(
            f"Read a whole document: a file path{root}, or 'artifact:KEY' for one of this job's artifacts "
            "(findings, reports). Its passages are indexed for the job and returned with [chunk_id]s."
        ),
        response_format="content_and_artifact",
    )


def _read(path: str, context: ToolContext) -> tuple[str, str, str, str | None]:
    """(text, source, title, None) or a reason it cannot be read."""
    from retrieval.readers import UnreadableError, read_document

    if path.startswith("artifact:"):
        if context.artifacts is None:
            return "", "", "", "this run has no artifact store"
        key = path.removeprefix("artifact:")
        try:
            return context.artifacts.get_text(key), path, key, None
        except (OSError, ValueError, KeyError) as exc:
            return "", "", "", f"no artifact {key!r} ({type(exc).__name__})"
    root = context.settings.documents_root
    if root is None:
        return "", "", "", "reading files is off (set DURABLE_RESEARCH_TOOLS_DOCUMENTS_ROOT to a folder)"
    target = (root / path).resolve() if not Path(path).is_absolute() else Path(path).resolve()
    if not target.is_relative_to(root.resolve()):
        return "", "", "", f"outside the allowed folder {root}"
    if not target.is_file():
        return "", "", "", "not a regular file"
    size = target.stat().st_size
    if size > context.settings.fetch_max_bytes:
        return "", "", "", f"{size} bytes, over the {context.settings.fetch_max_bytes}-byte cap"
    try:
        title, text, _ = read_document(target.read_bytes(), target.name)
    except UnreadableError as exc:
        return "", "", "", str(exc)
    return text, str(target), title, None


@register_tool(
    "ask_person", description="Ask the person who started the job; the job waits for the answer.", durable="human"
)
def make_ask_person(context: ToolContext) -> BaseTool:
    def ask_person(question: str) -> str:
        # A durable="human" tool is answered through the workflow (`durable-research answer`); never here.
        raise ConfigError("ask_person is answered by a person through the job, not run inside a graph")

    return StructuredTool.from_function(
        ask_person,
        name="ask_person",
        description=(
            "Ask the person who started this research a question only they can answer (which version, what scope, "
            "which source to trust). The job waits for their answer; ask only when it matters."
        ),
    )
