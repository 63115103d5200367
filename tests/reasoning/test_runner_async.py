"""arun_graph runs inside an event loop; run_graph also works there (on a helper thread)."""

from __future__ import annotations

from pathlib import Path

from reasoning import (
    CheckpointConfig,
    GraphContext,
    PlannerInput,
    arun_graph,
    default_registry,
    run_graph,
)


async def test_async_and_sync_twins_agree_inside_a_loop(fake_ctx: GraphContext, tmp_path: Path) -> None:
    spec = default_registry.get("planner@1")
    graph_input = PlannerInput(question="What is durable execution?")
    awaited = await arun_graph(
        spec,
        graph_input,
        context=fake_ctx,
        mode="resume",
        thread_id="t1",
        checkpoint=CheckpointConfig(sqlite_path=tmp_path / "c.sqlite"),
    )
    synced = run_graph(spec, graph_input, context=fake_ctx)
    assert awaited.output == synced.output
    assert awaited.nodes_run == synced.nodes_run == ["decompose", "normalize"]
