"""The `wikipedia` tool (langchain-community's wrapper) against a local MediaWiki API: the articles it
finds are indexed for the job and returned with chunk ids; an API that fails is a message, not a crash."""

from __future__ import annotations

import urllib.parse
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("langchain_community", reason="pip install '.[web]'")

from reasoning import FakeChatModel
from reasoning.tools import ToolContext, ToolSettings, default_tools
from tests.reasoning.corpus import KeywordRetriever
from tests.reasoning.graphs.deep_helpers import ListSink
from tests.support.http_stub import send_json, serve

ARTICLE = (
    "LangGraph is a library for building stateful agents as graphs.\n\n"
    "A checkpointer saves the state of a graph after every step, so it can resume."
)


class _MediaWiki(BaseHTTPRequestHandler):
    """Answers every query the wikipedia package sends with one article's search hit, page info and text."""

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        params = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
        page = {
            "pageid": 7, "ns": 0, "title": "LangGraph", "fullurl": "http://wiki.test/wiki/LangGraph",
            "extract": ARTICLE, "revisions": [{"revid": 11, "parentid": 10}],
        }  # fmt: skip
        body = {"query": {"search": [{"title": "LangGraph"}], "pages": {"7": page}}}
        if "search" not in params.get("list", [""]):
            body["query"].pop("search")
        send_json(self, body)


def _tool(sink: ListSink | None, api: str) -> Any:
    settings = ToolSettings(wikipedia_api_url=api)
    context = ToolContext(retriever=KeywordRetriever(), model=FakeChatModel(), sink=sink, settings=settings)
    return default_tools.get("wikipedia").build(context)


def test_it_indexes_the_articles_it_finds(tmp_path: Path) -> None:
    sink = ListSink()
    with serve(_MediaWiki) as port:
        message = _tool(sink, f"http://127.0.0.1:{port}/w/api.php").invoke(
            {"name": "wikipedia", "args": {"query": "LangGraph"}, "id": "c1", "type": "tool_call"}
        )
    assert [e.source for e in sink.added] == ["http://wiki.test/wiki/LangGraph"] * 2
    assert {e["chunk_id"] for e in message.artifact} == {e.chunk_id for e in sink.added}
    assert f"[{sink.added[1].chunk_id}]" in message.content and "checkpointer" in message.content


def test_an_api_that_fails_is_a_message() -> None:
    message = _tool(ListSink(), "http://127.0.0.1:9/w/api.php").invoke(  # nothing listens there
        {"name": "wikipedia", "args": {"query": "LangGraph"}, "id": "c1", "type": "tool_call"}
    )
    assert message.content.startswith("wikipedia failed for 'LangGraph'") and message.artifact == []
