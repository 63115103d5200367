"""A real OpenAI-compatible HTTP endpoint that fails: one request (no client retries), typed error."""

from __future__ import annotations

from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import ClassVar

import pytest

from reasoning import (
    GraphContext,
    ModelSettings,
    NonRetryableModelError,
    PlannerInput,
    RetryableModelError,
    default_registry,
    make_chat_model,
    run_graph,
)
from tests.reasoning.corpus import KeywordRetriever
from tests.support.http_stub import serve


class _Failing(BaseHTTPRequestHandler):
    status = 429
    hits: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        self.hits.append(self.path)
        self.rfile.read(int(self.headers.get("content-length", 0)))
        body = b'{"error": {"message": "nope", "type": "x"}}'
        self.send_response(self.status)
        self.send_header("content-type", "application/json")
        self.send_header("retry-after", "3")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def endpoint() -> Iterator[tuple[str, type[_Failing]]]:
    handler = type("Handler", (_Failing,), {"hits": []})
    with serve(handler) as port:
        yield f"http://127.0.0.1:{port}/v1", handler


@pytest.mark.parametrize(("status", "error"), [(429, RetryableModelError), (401, NonRetryableModelError)])
def test_provider_status_surfaces_as_typed_error_after_one_request(
    endpoint: tuple[str, type[_Failing]], status: int, error: type[Exception]
) -> None:
    url, handler = endpoint
    handler.status = status
    model = make_chat_model(ModelSettings(provider="openai", base_url=url, api_key="k", timeout_s=5))
    ctx = GraphContext(retriever=KeywordRetriever(), model=model)
    with pytest.raises(error) as info:
        run_graph(default_registry.get("planner@1"), PlannerInput(question="q"), context=ctx)
    assert info.value.status == status
    assert handler.hits == ["/v1/chat/completions"]  # max_retries=0: Temporal owns retries
    if status == 429:
        assert info.value.retry_after_s == 3.0
