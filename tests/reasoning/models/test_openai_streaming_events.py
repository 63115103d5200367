"""The openai provider with streaming on, against a real OpenAI-compatible HTTP endpoint that
streams (server-sent events): the run's sink sees the reply's tokens as they arrive, in
order, inside the node that asked, then the model call with the provider's token usage."""

from __future__ import annotations

import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any, ClassVar

import pytest

from reasoning import (
    GraphContext,
    ModelSettings,
    ResearchInput,
    RunEvent,
    Subtask,
    default_registry,
    make_chat_model,
    run_graph,
)
from tests.reasoning.corpus import KeywordRetriever
from tests.support.http_stub import serve

REPLY = json.dumps({"answer": "Durable execution replays the workflow from its event history.", "claims": []})
PIECES = [REPLY[i : i + 9] for i in range(0, len(REPLY), 9)]
USAGE = {"prompt_tokens": 42, "completion_tokens": len(PIECES), "total_tokens": 42 + len(PIECES)}


class _Streaming(BaseHTTPRequestHandler):
    requests: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        self.requests.append(json.loads(self.rfile.read(int(self.headers.get("content-length", 0)))))
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.end_headers()
        base = {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": "stub-model"}
        for i, piece in enumerate(PIECES):
            delta = {"role": "assistant", "content": piece} if i == 0 else {"content": piece}
            self._event(base | {"choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
        self._event(base | {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        self._event(base | {"choices": [], "usage": USAGE})
        self.wfile.write(b"data: [DONE]\n\n")

    def _event(self, body: dict[str, Any]) -> None:
        self.wfile.write(f"data: {json.dumps(body)}\n\n".encode())
        self.wfile.flush()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def endpoint() -> Iterator[tuple[str, type[_Streaming]]]:
    handler = type("Handler", (_Streaming,), {"requests": []})
    with serve(handler) as port:
        yield f"http://127.0.0.1:{port}/v1", handler


def test_streamed_tokens_reach_the_sink_in_order(endpoint: tuple[str, type[_Streaming]]) -> None:
    url, handler = endpoint
    model = make_chat_model(ModelSettings(provider="openai", base_url=url, api_key="k", timeout_s=5, stream=True))
    events: list[RunEvent] = []
    run = run_graph(
        default_registry.get("researcher-lite@1"),
        ResearchInput(subtask=Subtask(id="s1", kind="research", question="How is execution durable?")),
        context=GraphContext(retriever=KeywordRetriever(), model=model),
        on_event=events.append,
    )

    assert run.output["answer"].startswith("Durable execution replays")
    (request,) = handler.requests
    assert request["stream"] is True and request["stream_options"] == {"include_usage": True}
    tokens = [e for e in events if e.kind == "tokens"]
    assert [e.text for e in tokens] == PIECES, "every streamed piece, once, in order"
    assert {e.node for e in tokens} == {"answer"}
    kinds = [(e.kind, e.node) for e in events]
    first_token, call = kinds.index(("tokens", "answer")), kinds.index(("model_call", "answer"))
    assert kinds.index(("node_started", "answer")) < first_token < call < kinds.index(("node_finished", "answer"))
    (model_call,) = [e for e in events if e.kind == "model_call"]
    assert (model_call.tokens_in, model_call.tokens_out) == (42, len(PIECES))
    assert model_call.model == "stub-model"
