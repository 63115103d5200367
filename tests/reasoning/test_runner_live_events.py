"""on_event gets live events: each node's start and finish (timed), each model call with its
tokens, and a "resumed" marker when a resume-mode run continues an existing thread."""

from __future__ import annotations

from pathlib import Path

from reasoning import (
    CheckpointConfig,
    GraphContext,
    ResearchInput,
    RunEvent,
    Subtask,
    default_registry,
    read_call_log,
    run_graph,
)

INPUT = ResearchInput(subtask=Subtask(id="s1", kind="research", question="What is Temporal?"))


def test_nodes_and_model_calls_are_reported_live(fake_ctx: GraphContext, call_log: Path) -> None:
    events: list[RunEvent] = []
    spec = default_registry.get("researcher@1")
    result = run_graph(spec, INPUT, context=fake_ctx, on_event=events.append)

    finished = [e for e in events if e.kind == "node_finished"]
    assert [e.node for e in finished] == result.nodes_run
    assert [e.step for e in finished] == list(range(1, len(finished) + 1))
    for e in finished:
        started = events.index(RunEvent(kind="node_started", node=e.node))
        assert started < events.index(e), f"{e.node} finished before it started"
        assert e.seconds is not None and e.seconds >= 0
    calls = [e for e in events if e.kind == "model_call"]
    assert len(calls) == result.model_calls == len(read_call_log(call_log))
    assert all(c.tokens_in > 0 and c.tokens_out > 0 and c.node in result.nodes_run for c in calls)
    assert sum(c.tokens_in + c.tokens_out for c in calls) == result.tokens

    quiet = run_graph(spec, INPUT, context=fake_ctx)  # no sink: the same run
    assert quiet.output == result.output and quiet.nodes_run == result.nodes_run


def test_resume_of_a_finished_thread_is_marked(fake_ctx: GraphContext, tmp_path: Path) -> None:
    spec = default_registry.get("researcher@1")
    checkpoint = CheckpointConfig(sqlite_path=tmp_path / "cp.sqlite")
    first = run_graph(spec, INPUT, context=fake_ctx, mode="resume", thread_id="t", checkpoint=checkpoint)
    events: list[RunEvent] = []
    again = run_graph(
        spec, INPUT, context=fake_ctx, mode="resume", thread_id="t", checkpoint=checkpoint, on_event=events.append
    )
    assert again.resumed and again.output == first.output
    assert [e.kind for e in events] == ["resumed"], "a finished thread runs nothing again"
    assert events[0].step is not None and events[0].step >= len(first.nodes_run)
