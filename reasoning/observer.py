"""A meter-agnostic sink for what a graph run does: reasoning reports, the caller decides where it goes.

The runner never imports a metrics library or Temporal; the activity hands it an object
with these methods (adapting them to ``activity.metric_meter()``), a notebook may hand it
a list-collecting one, and tests a recording one.
"""

from __future__ import annotations

from typing import Protocol


class RunObserver(Protocol):
    """Receives one call per finished model call (paid or replayed) and per finished graph node.

    Methods are called from LangChain callbacks, possibly on a helper thread: keep them
    quick and thread-safe, and never raise (an observer must not take a run down).
    """

    def on_model_call(self, node: str, input_tokens: int, output_tokens: int) -> None:
        """A chat model call inside `node` returned, with the provider's token counts."""

    def on_node(self, node: str, seconds: float, ok: bool) -> None:
        """Node `node` finished (``ok``) or raised, after `seconds` of wall time."""

    def on_replayed_call(self, node: str, input_tokens: int, output_tokens: int) -> None:
        """A call inside `node` was answered from the call log: no request, no cost; the tokens
        are what it would have cost. Optional: the runner skips an observer without it."""
