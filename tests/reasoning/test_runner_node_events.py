"""on_node gets one small event per finished node; restart mode always runs from the first node."""

from __future__ import annotations

import json

from reasoning import (
    GraphContext,
    NodeEvent,
    ResearchInput,
    Subtask,
    default_registry,
    read_call_log,
    run_graph,
)

INPUT = ResearchInput(subtask=Subtask(id="s1", kind="research", question="What is Temporal?"))


def test_one_small_event_per_finished_node(fake_ctx: GraphContext) -> None:
    events: list[NodeEvent] = []
    result = run_graph(default_registry.get("researcher@1"), INPUT, context=fake_ctx, on_node=events.append)
    assert [e.node for e in events] == result.nodes_run
    assert [e.step for e in events] == list(range(1, len(events) + 1))
    assert result.steps == len(events) == 5
    for event in events:  # heartbeat-sized: counts and flags, never bodies
        assert all(isinstance(v, int | float | bool) for v in event.details.values())
        assert len(json.dumps(event.model_dump())) < 300
    assert events[0].details["evidence"] >= 1


def test_restart_mode_reruns_every_node(fake_ctx: GraphContext, call_log) -> None:
    spec = default_registry.get("researcher@1")
    first = run_graph(spec, INPUT, context=fake_ctx, mode="restart", thread_id="same")
    second = run_graph(spec, INPUT, context=fake_ctx, mode="restart", thread_id="same")
    assert second.nodes_run == first.nodes_run and second.resumed is False
    assert second.output == first.output
    assert len(read_call_log(call_log)) == 2 * first.model_calls
    assert first.model_calls == 3 and first.tokens > 0 and first.seconds > 0
