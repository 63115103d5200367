"""Counts model calls, tokens (in and out), steps and seconds of one run, and enforces its budgets."""

from __future__ import annotations

import logging
import time
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.outputs import LLMResult
from pydantic import BaseModel

from reasoning.call_log.model_calls import is_replayed
from reasoning.call_log.tool_calls import TOOL_EVENT
from reasoning.errors import BudgetExceededError
from reasoning.observer import RunObserver

_log = logging.getLogger(__name__)


class Budgets(BaseModel):
    """Limits for one run; None means unlimited. Each overrun raises BudgetExceededError."""

    max_steps: int = 60
    max_model_calls: int | None = None
    max_tokens: int | None = None
    max_wall_s: float | None = None


class Meter(BaseCallbackHandler):
    """A LangChain callback that meters every chat model call and times every node of the graph.

    `raise_error` makes LangChain re-raise our BudgetExceededError instead of logging it,
    so the call that would go over the budget never reaches the provider. Token counts
    come from the provider's usage data (`usage_metadata`, or `llm_output["token_usage"]`
    for older providers); a provider that reports none counts as zero tokens.

    A call answered from the call log (`reasoning.call_log`) is counted as replayed, with the
    tokens it would have cost, and not as spent: `model_calls` and the tokens are what the
    provider was paid for. The call budget counts both (it bounds what the graph asks for).
    """

    raise_error = True

    def __init__(self, budgets: Budgets, observer: RunObserver | None = None) -> None:
        self.budgets = budgets
        self.observer = observer
        self.started = time.monotonic()
        self.calls_started = 0
        self.input_tokens = 0
        self.output_tokens = 0
        self.replayed_calls = 0
        self.replayed_input_tokens = 0
        self.replayed_output_tokens = 0
        self.tool_calls = 0
        self.replayed_tool_calls = 0
        self._call_node: dict[UUID, str] = {}
        self._node_started: dict[UUID, tuple[str, float]] = {}

    @property
    def model_calls(self) -> int:
        """Calls the provider was asked (started, not answered from the call log)."""
        return self.calls_started - self.replayed_calls

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.started

    def on_chat_model_start(
        self, serialized: Any, messages: Any, *, run_id: UUID, metadata: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        limit = self.budgets.max_model_calls
        if limit is not None and self.calls_started + 1 > limit:
            raise BudgetExceededError("model_calls", limit, self.calls_started + 1)
        self.check_wall()
        self.calls_started += 1
        self._call_node[run_id] = str((metadata or {}).get("langgraph_node", ""))

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        tokens_in, tokens_out = usage_of(response)
        node = self._call_node.pop(run_id, "")
        if replayed(response):
            self.replayed_calls += 1
            self.replayed_input_tokens += tokens_in
            self.replayed_output_tokens += tokens_out
            self._observe("on_replayed_call", node, tokens_in, tokens_out)
            return
        self.input_tokens += tokens_in
        self.output_tokens += tokens_out
        self._observe("on_model_call", node, tokens_in, tokens_out)
        self.check_tokens()

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._call_node.pop(run_id, None)

    def on_custom_event(self, name: str, data: Any, *, run_id: UUID, **kwargs: Any) -> None:
        if name == TOOL_EVENT and isinstance(data, dict):
            self.tool_calls += 1
            self.replayed_tool_calls += bool(data.get("replayed"))

    def on_chain_start(
        self,
        serialized: Any,
        inputs: Any,
        *,
        run_id: UUID,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        # A graph node is the chain LangGraph names after the node it runs; the chains
        # nested inside it carry the same metadata under other names.
        node = (metadata or {}).get("langgraph_node")
        if node and kwargs.get("name") == node:
            self._node_started[run_id] = (str(node), time.monotonic())

    def on_chain_end(self, outputs: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._node_done(run_id, ok=True)

    def on_chain_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._node_done(run_id, ok=False)

    def _node_done(self, run_id: UUID, *, ok: bool) -> None:
        started = self._node_started.pop(run_id, None)
        if started is not None:
            node, at = started
            self._observe("on_node", node, time.monotonic() - at, ok)

    def _observe(self, method: str, *args: Any) -> None:
        # `on_replayed_call` is optional: observers written before the call log lack it.
        hook = getattr(self.observer, method, None) if self.observer is not None else None
        if hook is None:
            return
        try:
            hook(*args)
        except Exception:  # telemetry never takes a run down
            _log.warning("run observer %s failed", method, exc_info=True)

    def check_tokens(self) -> None:
        limit = self.budgets.max_tokens
        if limit is not None and self.tokens > limit:
            raise BudgetExceededError("tokens", limit, self.tokens)

    def check_wall(self) -> None:
        limit = self.budgets.max_wall_s
        if limit is not None and self.seconds > limit:
            raise BudgetExceededError("wall_s", limit, round(self.seconds, 3))


def replayed(response: LLMResult) -> bool:
    """Whether a model response came from the call log rather than the provider."""
    return any(is_replayed(gen) for generations in response.generations for gen in generations)


def usage_of(response: LLMResult) -> tuple[int, int]:
    """(input, output) tokens of one model response, from the provider's usage data."""
    tokens_in = tokens_out = 0
    for generations in response.generations:
        for gen in generations:
            usage = getattr(getattr(gen, "message", None), "usage_metadata", None)
            if usage:
                tokens_in += int(usage.get("input_tokens", 0) or 0)
                tokens_out += int(usage.get("output_tokens", 0) or 0)
    if tokens_in == tokens_out == 0 and response.llm_output:  # older providers report it here instead
        usage = response.llm_output.get("token_usage") or {}
        tokens_in = int(usage.get("prompt_tokens", 0) or 0)
        tokens_out = int(usage.get("completion_tokens", 0) or 0)
    return tokens_in, tokens_out
