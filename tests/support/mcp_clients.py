"""Helpers for the `durable-research mcp` tests (no tests here): the server's environment, a tool's text."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mcp_types import CallToolResult, TextContent

from orchestration.server import ServerRecord
from tests.support.processes import worker_env

TOOLS = {
    "start_research", "job_status", "wait_for_job", "approve", "reject", "revise", "answer",
    "search_memory", "list_graphs", "list_tools", "start_batch", "batch_status",
}  # fmt: skip
QUESTION = "How do Temporal and LangGraph make long AI jobs durable?"


def mcp_env(server: ServerRecord, home: Path, prefix: str, **extra: str) -> dict[str, str]:
    """Worker and MCP server alike: the session's dev server, a private state folder and queues, the fake model."""
    return worker_env(server.address, home, prefix, clean=True, DURABLE_RESEARCH_MODEL_PROVIDER="fake", **extra)


def text_of(result: CallToolResult) -> str:
    """The one text block a tool answered with."""
    assert len(result.content) == 1 and isinstance(result.content[0], TextContent), result.content
    return result.content[0].text


def data_of(result: CallToolResult) -> dict[str, Any]:
    """A tool's answer as data (its structured content), once it is known not to be an error."""
    assert not result.is_error and result.structured_content is not None, text_of(result)
    return result.structured_content
