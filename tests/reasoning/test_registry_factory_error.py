"""A factory that raises is reported with the graph's name, from the registry and the runner."""

from __future__ import annotations

import pytest

from reasoning import (
    GraphContext,
    GraphFactoryError,
    GraphRegistry,
    PlannerInput,
    PlannerOutput,
    run_graph,
)


def _registry() -> GraphRegistry:
    registry = GraphRegistry()

    @registry.register("broken", "2", input_model=PlannerInput, output_model=PlannerOutput)
    def make_broken():
        raise RuntimeError("forgot to add the nodes")

    return registry


def test_nodes_of_a_raising_factory_name_the_graph() -> None:
    with pytest.raises(GraphFactoryError, match=r"'broken@2' raised RuntimeError") as info:
        _registry().get("broken").nodes()
    assert info.value.graph == "broken@2"
    assert isinstance(info.value.__cause__, RuntimeError)


def test_running_a_raising_factory_names_the_graph(fake_ctx: GraphContext) -> None:
    spec = _registry().get("broken@2")
    with pytest.raises(GraphFactoryError, match="forgot to add the nodes"):
        run_graph(spec, PlannerInput(question="q"), context=fake_ctx)
