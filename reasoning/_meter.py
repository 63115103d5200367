"""Counts model calls, tokens, steps and seconds of one run, and enforces its budgets."""

from __future__ import annotations

import time
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.outputs import LLMResult
from pydantic import BaseModel

from reasoning.errors import BudgetExceededError


class Budgets(BaseModel):
    """Limits for one run; None means unlimited. Each overrun raises BudgetExceededError."""

    max_steps: int = 60
    max_model_calls: int | None = None
    max_tokens: int | None = None
    max_wall_s: float | None = None


class Meter(BaseCallbackHandler):
    """A LangChain callback that meters every chat model call made inside the graph.

    `raise_error` makes LangChain re-raise our BudgetExceededError instead of logging it,
    so the call that would go over the budget never reaches the provider.
    """

    raise_error = True

    def __init__(self, budgets: Budgets) -> None:
        self.budgets = budgets
        self.started = time.monotonic()
        self.model_calls = 0
        self.tokens = 0

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.started

    def on_chat_model_start(self, serialized: Any, messages: Any, **kwargs: Any) -> None:
        limit = self.budgets.max_model_calls
        if limit is not None and self.model_calls + 1 > limit:
            raise BudgetExceededError("model_calls", limit, self.model_calls + 1)
        self.check_wall()
        self.model_calls += 1

    def on_llm_end(self, response: LLMResult, **kwargs: Any) -> None:
        self.tokens += _tokens_of(response)
        self.check_tokens()

    def check_tokens(self) -> None:
        limit = self.budgets.max_tokens
        if limit is not None and self.tokens > limit:
            raise BudgetExceededError("tokens", limit, self.tokens)

    def check_wall(self) -> None:
        limit = self.budgets.max_wall_s
        if limit is not None and self.seconds > limit:
            raise BudgetExceededError("wall_s", limit, round(self.seconds, 3))


def _tokens_of(response: LLMResult) -> int:
    total = 0
    for generations in response.generations:
        for gen in generations:
            usage = getattr(getattr(gen, "message", None), "usage_metadata", None)
            if usage:
                total += int(usage.get("total_tokens", 0))
    if total == 0 and response.llm_output:  # older providers report it here instead
        usage = response.llm_output.get("token_usage") or {}
        total = int(usage.get("total_tokens", 0) or 0)
    return total
