"""Test-only tools: one the workflow runs as an activity, one that runs inline (both count their runs).

Workers load them with ``--tools tests.support.tool_fixtures:TOOLS``; `RUNS_FILE` (an env
variable) names a JSONL file each run of `lookup_ticket` and `note_fact` appends to, so a test in
another process sees whether a tool ran twice.
"""

from __future__ import annotations

import json
import os
from typing import Any

from langchain_core.tools import BaseTool, StructuredTool

from reasoning.tools import ToolContext, register_tool

RUNS_FILE = "DURABLE_RESEARCH_TEST_TOOL_RUNS"


@register_tool(
    "lookup_ticket", description="Look a ticket up in the tracker (slow: runs as an activity).", durable="activity"
)
def make_lookup_ticket(context: ToolContext) -> BaseTool:
    def lookup_ticket(question: str) -> tuple[str, list[dict[str, Any]]]:
        _record("lookup_ticket", question)
        text = "Ticket 42: the checkpointer resume fix shipped in release 1.2."
        evidence = context.sink.add("tracker:42", "Ticket 42", text) if context.sink else []
        return f"[{evidence[0].chunk_id}] Ticket 42: {text}" if evidence else text, [
            e.model_dump(mode="json") for e in evidence
        ]

    return StructuredTool.from_function(
        lookup_ticket, name="lookup_ticket", description="Find the tracker ticket about a question.",
        response_format="content_and_artifact",
    )  # fmt: skip


@register_tool("note_fact", description="Write a fact down (runs inside the graph; counted).")
def make_note_fact(context: ToolContext) -> BaseTool:
    def note_fact(question: str) -> str:
        _record("note_fact", question)
        return f"Noted: {question[:60]}"

    return StructuredTool.from_function(note_fact, name="note_fact", description="Write down a fact worth keeping.")


def _record(tool: str, question: str) -> None:
    path = os.environ.get(RUNS_FILE)
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"tool": tool, "pid": os.getpid(), "question": question}) + "\n")


TOOLS = [make_lookup_ticket, make_note_fact]
