"""Fencing in resume mode: once a newer attempt claims a thread, the old attempt's writes are refused.

Two real runs of researcher@1 share one real SQLite checkpointer: attempt 1 is still in a
model call (the zombie of a paused process) when attempt 2 claims the thread and finishes
it. Attempt 1's next write is refused, and the thread keeps one linear chain.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from reasoning import (
    CheckpointConfig,
    FakeChatModel,
    GraphContext,
    NodeEvent,
    ResearchInput,
    Subtask,
    SupersededAttemptError,
    arun_graph,
    checkpoint_audit,
    default_registry,
    read_call_log,
    run_graph,
)
from tests.reasoning.corpus import KeywordRetriever

INPUT = ResearchInput(subtask=Subtask(id="s1", kind="research", question="How does a checkpointer resume a graph?"))
THREAD = "job-1/run-1/subtask/s1/r1"


def _ctx(log: Path, latency_s: float = 0.0) -> GraphContext:
    return GraphContext(retriever=KeywordRetriever(), model=FakeChatModel(latency_s=latency_s, call_log=log))


async def test_a_stale_attempt_cannot_fork_the_chain(tmp_path: Path) -> None:
    spec, checkpoint = default_registry.get("researcher@1"), CheckpointConfig(sqlite_dir=tmp_path / "cp")
    clean = run_graph(spec, INPUT, context=_ctx(tmp_path / "clean.jsonl"))
    read_done = asyncio.Event()

    def on_node(event: NodeEvent) -> None:
        if event.node == "read":
            read_done.set()

    # Attempt 1 is in its "draft" model call when attempt 2 takes the thread over.
    zombie = asyncio.create_task(
        arun_graph(
            spec, INPUT, context=_ctx(tmp_path / "a1.jsonl", latency_s=0.8), mode="resume",
            thread_id=THREAD, checkpoint=checkpoint, on_node=on_node, attempt=1,
        )
    )  # fmt: skip
    await asyncio.wait_for(read_done.wait(), 30)
    newer = await arun_graph(
        spec, INPUT, context=_ctx(tmp_path / "a2.jsonl"), mode="resume",
        thread_id=THREAD, checkpoint=checkpoint, attempt=2,
    )  # fmt: skip
    with pytest.raises(SupersededAttemptError, match="attempt 1 < owner 2") as refused:
        await asyncio.wait_for(zombie, 30)

    assert (refused.value.attempt, refused.value.owner) == (1, 2)
    assert newer.resumed and newer.output == clean.output
    assert "retrieve" not in newer.nodes_run and "read" not in newer.nodes_run
    audit = checkpoint_audit(tmp_path / "cp")
    assert audit["threads"] == 1
    assert audit["forked_threads"] == 0, audit
    assert audit["rerun_from_input"] == 0, audit
    # The zombie made no call after attempt 2 claimed the thread: the call log checks the owner
    # before each call, so its "draft" was either already in flight (and then refused by the log
    # and its checkpoint write refused too) or never made at all.
    assert [c["node"] for c in read_call_log(tmp_path / "a1.jsonl")] in (["read"], ["read", "draft"])


async def test_a_lower_attempt_cannot_claim_the_thread(tmp_path: Path) -> None:
    spec, checkpoint = default_registry.get("researcher@1"), CheckpointConfig(sqlite_dir=tmp_path / "cp")
    kwargs = {"mode": "resume", "thread_id": THREAD, "checkpoint": checkpoint}
    await arun_graph(spec, INPUT, context=_ctx(tmp_path / "a3.jsonl"), attempt=3, **kwargs)  # type: ignore[arg-type]

    with pytest.raises(SupersededAttemptError, match="attempt 2 < owner 3"):
        await arun_graph(spec, INPUT, context=_ctx(tmp_path / "a2.jsonl"), attempt=2, **kwargs)  # type: ignore[arg-type]
    assert not (tmp_path / "a2.jsonl").exists(), "a refused attempt must not call the model"
    again = await arun_graph(spec, INPUT, context=_ctx(tmp_path / "a4.jsonl"), attempt=4, **kwargs)  # type: ignore[arg-type]
    assert again.nodes_run == [] and not (tmp_path / "a4.jsonl").exists()
