"""Model calls through the call log, on LangChain's own cache interface.

Every chat model call of LangChain (`invoke`, `ainvoke`, `batch`, tools bound with
`bind_tools`, structured output, a provider streaming its reply inside `invoke`) asks the
model's cache first and hands it the result before returning it. `CallLogCache` is that
cache, scoped to the current run (`CallScope`): a lookup answers with the entry stored at
the call's position for the same request, and an update stores a finished call, so the
result is durable before the graph sees it. It answers nothing outside a run, and nothing
for a request that changed: the fingerprint covers the graph, the model's whole
configuration as LangChain serialises it for caching (provider, model name, temperature,
bound tools, stop words) and the messages (their ids and provider metadata left out: those
differ between a call and its replay without changing what was asked).

LangChain calls the cache after `on_chat_model_start` and before the provider, and skips
its rate limiter on a hit, so a replayed call costs no request and no token; its
generations carry `REPLAYED` in their `generation_info` so meters and events can count it
as replayed. `model.stream()` and `astream()` skip caches in LangChain, so calls made that
way are not logged; `invoke` with a streaming provider is (the reply is logged whole).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Sequence
from contextvars import ContextVar
from typing import Any

from langchain_core.caches import BaseCache
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import message_to_dict, messages_from_dict
from langchain_core.outputs import ChatGeneration, Generation

from reasoning.call_log.scope import CallScope, current_scope, warn_once
from reasoning.call_log.store import Entry

REPLAYED = "durable_research_replayed"
"""Key in a replayed generation's `generation_info` (True): the call came from the log."""

FORMAT = 1
"""Encoding version of a model entry; another version reads as absent."""

# Message fields that differ between a call and its replay without changing the request.
_VOLATILE = ("id", "response_metadata", "usage_metadata")

# The position and fingerprint a missed lookup computed, for the update of the same call.
_PENDING: ContextVar[tuple[CallScope, str, str, str, str] | None] = ContextVar("call_log_pending", default=None)


def model_fingerprint(graph: str, prompt: str, llm_string: str) -> str:
    """sha256 of what a model call asks: the graph, the model's configuration, the messages."""
    try:
        messages = json.loads(prompt)
        for message in messages if isinstance(messages, list) else []:
            kwargs = message.get("kwargs") if isinstance(message, dict) else None
            if isinstance(kwargs, dict):
                for key in _VOLATILE:
                    kwargs.pop(key, None)
        text = json.dumps(messages, sort_keys=True, separators=(",", ":"), default=str)
    except (ValueError, TypeError):
        text = prompt
    digest = hashlib.sha256()
    for part in ("model", graph, llm_string, text):
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\x1f")
    return digest.hexdigest()


def encode_generations(generations: Sequence[Generation]) -> bytes:
    """A model call's result as bytes (JSON of its messages and generation info)."""
    out = []
    for gen in generations:
        item: dict[str, Any] = {"text": gen.text, "generation_info": gen.generation_info}
        if isinstance(gen, ChatGeneration):
            item["message"] = message_to_dict(gen.message)
        out.append(item)
    return json.dumps({"generations": out}, default=str, separators=(",", ":")).encode()


def decode_generations(entry: Entry) -> list[Generation] | None:
    """The generations of an entry, marked as replayed; None for anything that does not decode."""
    if entry.format != FORMAT:
        return None
    try:
        items = json.loads(entry.payload)["generations"]
        out: list[Generation] = []
        for item in items:
            info = {**(item.get("generation_info") or {}), REPLAYED: True}
            if "message" in item:
                message = messages_from_dict([item["message"]])[0]
                out.append(ChatGeneration(message=message, generation_info=info))
            else:
                out.append(Generation(text=str(item["text"]), generation_info=info))
        return out or None
    except Exception:  # truncated, another version's shape, a message type this LangChain lacks
        return None


def is_replayed(generation: Generation) -> bool:
    return bool((generation.generation_info or {}).get(REPLAYED))


class CallLogCache(BaseCache):
    """LangChain's cache interface over the current run's call log (see the module docstring)."""

    def lookup(self, prompt: str, llm_string: str) -> Sequence[Generation] | None:
        scope = current_scope()
        if scope is None:
            return None
        position, fingerprint = scope.next_position(), model_fingerprint(scope.graph, prompt, llm_string)
        return self._answer(scope, position, fingerprint, prompt, llm_string, scope.fetch(position, fingerprint))

    async def alookup(self, prompt: str, llm_string: str) -> Sequence[Generation] | None:
        scope = current_scope()
        if scope is None:
            return None
        position, fingerprint = scope.next_position(), model_fingerprint(scope.graph, prompt, llm_string)
        entry = await asyncio.to_thread(scope.fetch, position, fingerprint)  # the event loop keeps beating
        return self._answer(scope, position, fingerprint, prompt, llm_string, entry)

    def _answer(
        self, scope: CallScope, position: str, fingerprint: str, prompt: str, llm_string: str, entry: Entry | None
    ) -> Sequence[Generation] | None:
        generations = decode_generations(entry) if entry is not None else None
        if generations is None:
            _PENDING.set((scope, position, fingerprint, prompt, llm_string))
            return None
        _PENDING.set(None)
        scope.count_replay()
        return generations

    def _pending(self, prompt: str, llm_string: str) -> tuple[CallScope, str, str] | None:
        pending = _PENDING.get()
        _PENDING.set(None)
        if pending is None or pending[0] is not current_scope() or (pending[3], pending[4]) != (prompt, llm_string):
            return None
        return pending[0], pending[1], pending[2]

    def update(self, prompt: str, llm_string: str, return_val: Sequence[Generation]) -> None:
        if (pending := self._pending(prompt, llm_string)) is not None:
            scope, position, fingerprint = pending
            scope.save("model", position, fingerprint, FORMAT, encode_generations(return_val))

    async def aupdate(self, prompt: str, llm_string: str, return_val: Sequence[Generation]) -> None:
        if (pending := self._pending(prompt, llm_string)) is not None:
            scope, position, fingerprint = pending
            await asyncio.to_thread(scope.save, "model", position, fingerprint, FORMAT, encode_generations(return_val))

    def clear(self, **kwargs: Any) -> None:
        """Nothing: a job's log goes with its other files (`durable-research prune`)."""


CALL_LOG_CACHE = CallLogCache()


def with_call_log(model: Any) -> Any:
    """`model` with its calls going through the call log (a copy; the caller's model is untouched).

    A model that already has a cache instance of its own keeps it, unlogged (warned once):
    replacing a user's cache would change what they asked for.
    """
    if not isinstance(model, BaseChatModel) or model.cache is CALL_LOG_CACHE:
        return model
    if isinstance(model.cache, BaseCache):
        name = type(model).__name__
        warn_once(name, "own-cache", f"{name} has its own cache: its calls are not logged")
        return model
    return model.model_copy(update={"cache": CALL_LOG_CACHE})
