"""Tool calls through the call log, on LangGraph's own `ToolNode` interceptor (`wrap_tool_call`).

Every tool call a `ToolNode` runs passes `logged_tool_call`: inside a run's `CallScope`, a call
whose request (tool name, arguments, graph) was answered before at the same place (the task's
position and the model's tool-call id) gets the stored `ToolMessage` back without running the
tool, so after a crash a finished search or fetch is not done again and a side-effecting tool
never runs twice for the same request; a new call runs, and its result is stored before the
graph sees it. Failed calls (an error `ToolMessage`) are not stored: a retry may succeed.

A tool lifted out of the graph (`durable="activity"` or ``"human"``) is not run here: its call
stops the graph with a LangGraph `interrupt` carrying a `PendingStep`; the workflow runs the tool
as an activity or asks a person, and writes the answer into the log at the call's key
(`answer_step`), so the run that follows (resumed from its checkpoint, or restarted and replayed)
finds it there and goes on as if the tool had run inline.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from langchain_core.callbacks.manager import adispatch_custom_event, dispatch_custom_event
from langchain_core.messages import ToolMessage, message_to_dict, messages_from_dict
from langgraph.types import Command, interrupt

from reasoning.call_log.model_calls import REPLAYED
from reasoning.call_log.scope import CallScope, current_scope, task_position
from reasoning.call_log.store import Entry
from reasoning.steps import PendingStep

TOOL_FORMAT = 1
TOOL_EVENT = "durable_research_tool_call"
"""Custom callback event each tool call dispatches (`reasoning.events.ModelCallEvents` reads it)."""

_ARGS_PREVIEW = 160


def tool_fingerprint(graph: str, name: str, args: Mapping[str, Any]) -> str:
    """sha256 of what a tool call asks: the graph, the tool and its arguments."""
    body = json.dumps({"graph": graph, "tool": name, "args": args}, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(("tool\x1f" + body).encode()).hexdigest()


def encode_tool_message(message: ToolMessage) -> bytes:
    return json.dumps({"message": message_to_dict(message)}, default=str, separators=(",", ":")).encode()


def decode_tool_message(entry: Entry) -> ToolMessage | None:
    """The stored message, marked replayed; None for anything that does not decode."""
    if entry.format != TOOL_FORMAT:
        return None
    try:
        message = messages_from_dict([json.loads(entry.payload)["message"]])[0]
    except Exception:
        return None
    if not isinstance(message, ToolMessage):
        return None
    message.response_metadata = {**message.response_metadata, REPLAYED: True}  # not part of any fingerprint
    return message


def answer_step(scope: CallScope, step: PendingStep, answer: Any) -> None:
    """Store the answer to a lifted tool call where the call will look for it: a tool's result
    (``{"content": ..., "artifact": [...]}``) or a person's reply (any text)."""
    if isinstance(answer, dict):
        content, artifact = answer.get("content", ""), answer.get("artifact") or []
    else:
        content, artifact = answer, []
    message = ToolMessage(content=str(content), artifact=artifact, tool_call_id=step.call_id, name=step.tool)
    scope.save("tool", step.position, step.fingerprint, TOOL_FORMAT, encode_tool_message(message))


class _Call:
    """One intercepted tool call: its key in the log, and its event."""

    def __init__(self, request: Any, scope: CallScope | None) -> None:
        call = request.tool_call
        self.name, self.args, self.call_id = str(call["name"]), dict(call.get("args") or {}), str(call.get("id") or "")
        self.config = getattr(request.runtime, "config", None)
        self.scope = scope
        self.position = self.fingerprint = ""
        if scope is not None:
            metadata = (self.config or {}).get("metadata") or {}
            self.position = f"{scope.prefix}{task_position(metadata)}#tool:{self.call_id or self.name}"
            self.fingerprint = tool_fingerprint(scope.graph, self.name, self.args)

    def stored(self) -> ToolMessage | None:
        if self.scope is None:
            return None
        entry = self.scope.fetch(self.position, self.fingerprint)
        return decode_tool_message(entry) if entry is not None else None

    def save(self, result: Any) -> None:
        if self.scope is not None and isinstance(result, ToolMessage) and result.status != "error":
            self.scope.save("tool", self.position, self.fingerprint, TOOL_FORMAT, encode_tool_message(result))

    def pending(self, durable: str) -> PendingStep:
        return PendingStep(
            durable="human" if durable == "human" else "activity", tool=self.name, args=self.args, call_id=self.call_id,
            position=self.position, fingerprint=self.fingerprint,
        )  # fmt: skip

    def event(self, started: float, *, replayed: bool, result: Any) -> dict[str, Any]:
        args = json.dumps(self.args, default=str, ensure_ascii=False)
        status = getattr(result, "status", "success") if isinstance(result, ToolMessage) else "command"
        return {
            "tool": self.name,
            "args": args if len(args) <= _ARGS_PREVIEW else args[: _ARGS_PREVIEW - 3] + "...",
            "seconds": round(time.monotonic() - started, 4),
            "replayed": replayed,
            "ok": status != "error",
        }


def _dispatch(event: dict[str, Any], config: Any) -> None:
    try:  # events are for watchers: never let one stop a tool call
        dispatch_custom_event(TOOL_EVENT, event, config=config)
    except Exception:
        return


async def _adispatch(event: dict[str, Any], config: Any) -> None:
    try:
        await adispatch_custom_event(TOOL_EVENT, event, config=config)
    except Exception:
        return


def logged_tool_call(lifted: Mapping[str, str]) -> Callable[[Any, Callable[[Any], Any]], Any]:
    """A `ToolNode(wrap_tool_call=...)` interceptor; `lifted` maps lifted tools to who answers them."""

    def wrap(request: Any, execute: Callable[[Any], ToolMessage | Command]) -> ToolMessage | Command:
        call, started = _Call(request, current_scope()), time.monotonic()
        stored = call.stored()
        if stored is not None:
            call.scope.count_replay()  # type: ignore[union-attr]
            _dispatch(call.event(started, replayed=True, result=stored), call.config)
            return stored
        if call.name in lifted:
            interrupt(call.pending(lifted[call.name]).model_dump(mode="json"))
        result = execute(request)
        call.save(result)
        _dispatch(call.event(started, replayed=False, result=result), call.config)
        return result

    return wrap


def alogged_tool_call(lifted: Mapping[str, str]) -> Callable[[Any, Callable[[Any], Awaitable[Any]]], Awaitable[Any]]:
    """The async twin of `logged_tool_call` (`ToolNode(awrap_tool_call=...)`)."""

    async def wrap(request: Any, execute: Callable[[Any], Awaitable[ToolMessage | Command]]) -> ToolMessage | Command:
        call, started = _Call(request, current_scope()), time.monotonic()
        stored = await asyncio.to_thread(call.stored)
        if stored is not None:
            call.scope.count_replay()  # type: ignore[union-attr]
            await _adispatch(call.event(started, replayed=True, result=stored), call.config)
            return stored
        if call.name in lifted:
            interrupt(call.pending(lifted[call.name]).model_dump(mode="json"))
        result = await execute(request)
        await asyncio.to_thread(call.save, result)
        await _adispatch(call.event(started, replayed=False, result=result), call.config)
        return result

    return wrap
