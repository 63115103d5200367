"""Run one graph over many small inputs: compiled once, invoked per input, output validated.

`run_graph` builds and compiles the graph, streams node updates and meters every call:
right for one long subtask, about 4 ms too much per document when a batch runs thousands
of two-node graphs. A batch activity uses this instead; restart semantics only (a
document is small: a retry re-runs it whole). Blocking: the batch activity calls it
from a thread or from a process of its document pool. One `Meter` counts the model calls and
tokens of every run, so the activity can attribute them per document.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from reasoning._meter import Budgets, Meter
from reasoning.context import GraphContext
from reasoning.errors import BudgetExceededError, ConfigError
from reasoning.observer import RunObserver
from reasoning.registry import GraphSpec


class GraphOverInputs:
    """One compiled graph and its context, for many `invoke(input)` calls.

    Args:
        spec: the registered graph.
        context: retriever and model, shared by every run.
        max_steps: the recursion limit of each run (the runner's default budget).
        observer: told of every model call and node (metrics); never fails a run.

    Attributes:
        meter: model calls and tokens of all runs so far, failed runs included.
    """

    def __init__(
        self,
        spec: GraphSpec,
        context: GraphContext,
        max_steps: int | None = None,
        observer: RunObserver | None = None,
    ) -> None:
        self.spec = spec
        self._context = context
        self._graph = spec.build().compile()
        self._steps = max_steps or Budgets().max_steps
        self.meter = Meter(Budgets(max_steps=self._steps), observer)

    def observe(self, observer: RunObserver | None) -> None:
        """Tell `observer` of the model calls and nodes of the runs from now on."""
        self.meter.observer = observer

    def invoke(self, graph_input: BaseModel | dict[str, Any]) -> dict[str, Any]:
        """The validated output of one run (blocking: call it from a thread or a pool process).

        Raises:
            ConfigError: the input does not validate as the graph's input model.
            BudgetExceededError: the graph ran more steps than allowed.
            Whatever a node raises (model errors are already typed by the nodes).
        """
        from langgraph.errors import GraphRecursionError

        raw = graph_input.model_dump(mode="json") if isinstance(graph_input, BaseModel) else graph_input
        try:
            payload = self.spec.input_model.model_validate(raw).model_dump(mode="json")
        except Exception as exc:
            raise ConfigError(f"Input for {self.spec.key} does not validate: {exc}") from exc
        try:
            config: Any = {"recursion_limit": self._steps, "callbacks": [self.meter]}
            values = self._graph.invoke(payload, config, context=self._context)
        except GraphRecursionError as exc:
            raise BudgetExceededError("steps", self._steps, self._steps) from exc
        return self.spec.output_model.model_validate(values).model_dump(mode="json")
