"""A chat model whose provider is down for one task: delegates everything else to the fake."""

from __future__ import annotations

from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatResult

from reasoning import FakeChatModel, RetryableModelError
from reasoning.models import parse_task


class TaskOutage(BaseChatModel):
    """Raises a retryable 503 for `task`, answers like `fake` otherwise."""

    fake: FakeChatModel
    task: str = "draft"

    @property
    def _llm_type(self) -> str:
        return "outage"

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> ChatResult:
        if parse_task(messages)[0] == self.task:
            raise RetryableModelError("503 from the provider", status=503)
        return self.fake._generate(messages, stop, run_manager, **kwargs)
