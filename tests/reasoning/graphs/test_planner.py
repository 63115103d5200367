"""planner@1 with the fake model: typed subtasks, known kinds only, capped, deterministic."""

from __future__ import annotations

from reasoning import GraphContext, PlannerInput, PlannerOutput, default_registry, run_graph


def test_plan_has_typed_subtasks_within_the_cap(fake_ctx: GraphContext) -> None:
    spec = default_registry.get("planner@1")
    graph_input = PlannerInput(question="How do durable workflows work?", max_subtasks=1)
    result = run_graph(spec, graph_input, context=fake_ctx)
    plan = PlannerOutput.model_validate(result.output)
    assert [s.id for s in plan.subtasks] == ["s1"]
    assert plan.subtasks[0].kind == "research"
    assert "durable workflows" in plan.subtasks[0].question
    assert result.nodes_run == ["decompose", "normalize"]
    assert result.model_calls == 1


def test_kinds_come_from_the_input_and_the_plan_is_deterministic(fake_ctx: GraphContext) -> None:
    spec = default_registry.get("planner")
    graph_input = PlannerInput(question="Compare Chroma and Temporal", kinds=["compare", "x"])
    first = run_graph(spec, graph_input, context=fake_ctx).output
    second = run_graph(spec, graph_input, context=fake_ctx).output
    assert first == second
    assert [s["kind"] for s in first["subtasks"]] == ["compare", "x"]
    assert len({s["question"] for s in first["subtasks"]}) == 2
