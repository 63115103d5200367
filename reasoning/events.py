"""Live events of one graph run (node start/finish, model calls, streamed tokens) for a sink.

The runner calls the sink synchronously, possibly from LangGraph's worker threads (sync
nodes run there, and so do the model callbacks inside them): a sink that touches an event
loop must hand the event over thread-safely. Events are small (names, counts, timings,
token text); bodies never travel here. Reasoning knows nothing about where they go: the
activity layer publishes them to the job's event stream.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Literal
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.outputs import LLMResult
from pydantic import BaseModel

from reasoning._meter import replayed, usage_of
from reasoning.call_log.tool_calls import TOOL_EVENT

RunEventKind = Literal["node_started", "node_finished", "model_call", "tool_call", "tokens", "resumed"]


class RunEvent(BaseModel):
    """One thing that happened in a run.

    Attributes:
        kind: what happened.
        node: the graph node it happened in (None for "resumed").
        step: the node's step number (node events; "resumed": the step the run continues after).
        seconds: how long the node or the model call took.
        model: the model name a call used, when the provider says.
        tokens_in: prompt tokens of a model call (from the provider's usage data).
        tokens_out: completion tokens of a model call.
        text: streamed token text ("tokens" events only).
        replayed: a model or tool call answered from the call log (no request made, nothing run;
            a model call's tokens are what it would have cost).
        tool: the tool a "tool_call" event called.
        args: its arguments as JSON, shortened.
        ok: whether the tool call succeeded (a failed one went back to the model as an error).
    """

    kind: RunEventKind
    node: str | None = None
    step: int | None = None
    seconds: float | None = None
    model: str | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    text: str = ""
    replayed: bool = False
    tool: str | None = None
    args: str = ""
    ok: bool = True


EventSink = Callable[[RunEvent], None]


class ModelCallEvents(BaseCallbackHandler):
    """Reports each chat model call (with its token usage) and each streamed token to a sink.

    `run_inline` keeps LangChain from moving this handler to an executor thread in async
    runs, so tokens reach the sink in the order they arrived.
    """

    run_inline = True

    def __init__(self, sink: EventSink) -> None:
        self._sink = sink
        self._calls: dict[UUID, tuple[float, str | None]] = {}

    def on_chat_model_start(
        self,
        serialized: Any,
        messages: Any,
        *,
        run_id: UUID,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self._calls[run_id] = (time.monotonic(), (metadata or {}).get("langgraph_node"))

    def on_llm_new_token(self, token: Any, *, run_id: UUID, **kwargs: Any) -> None:
        if isinstance(token, str) and token:
            node = self._calls.get(run_id, (0.0, None))[1]
            self._sink(RunEvent(kind="tokens", node=node, text=token))

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        started, node = self._calls.pop(run_id, (time.monotonic(), None))
        tokens_in, tokens_out = usage_of(response)
        self._sink(
            RunEvent(
                kind="model_call",
                node=node,
                seconds=round(time.monotonic() - started, 4),
                model=_model_name(response),
                tokens_in=tokens_in,
                tokens_out=tokens_out,
                replayed=replayed(response),
            )
        )

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._calls.pop(run_id, None)

    def on_custom_event(
        self, name: str, data: Any, *, run_id: UUID, metadata: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        if name != TOOL_EVENT or not isinstance(data, dict):
            return
        self._sink(
            RunEvent(
                kind="tool_call", node=(metadata or {}).get("langgraph_node"), tool=str(data.get("tool", "")),
                args=str(data.get("args", "")), seconds=data.get("seconds"), replayed=bool(data.get("replayed")),
                ok=bool(data.get("ok", True)),
            )
        )  # fmt: skip


def _model_name(response: LLMResult) -> str | None:
    for generations in response.generations:
        for gen in generations:
            meta = getattr(getattr(gen, "message", None), "response_metadata", None) or {}
            if meta.get("model_name"):
                return str(meta["model_name"])
    return str((response.llm_output or {}).get("model_name") or "") or None
