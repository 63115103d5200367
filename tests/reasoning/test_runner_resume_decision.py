"""Resume decides from the thread's whole state: saved writes continue, a finished thread is not re-run.

The half-finished thread is the state a process leaves when it stops after a node's
writes were saved but before the next checkpoint (issue 16): its ``next`` is empty, yet
the graph has not reached its end. It is made here from a real run's own checkpoints,
by removing everything after the step where `read` ran, as that crash would.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from reasoning import (
    CheckpointConfig,
    FakeChatModel,
    GraphContext,
    ResearchInput,
    Subtask,
    checkpoint_audit,
    default_registry,
    read_call_log,
    run_graph,
)
from tests.reasoning.corpus import KeywordRetriever

INPUT = ResearchInput(subtask=Subtask(id="s1", kind="research", question="What does a checkpointer store?"))
THREAD = "job-2/run-1/subtask/s1/r1"


def _ctx(log: Path) -> GraphContext:
    return GraphContext(retriever=KeywordRetriever(), model=FakeChatModel(call_log=log))


async def _cut_after_read(db: Path) -> None:
    """Keep the checkpoint where `read` was the next task and read's saved writes; drop the rest."""
    spec = default_registry.get("researcher@1")
    async with AsyncSqliteSaver.from_conn_string(str(db)) as saver:
        graph = spec.build().compile(checkpointer=saver)
        history = [s async for s in graph.aget_state_history({"configurable": {"thread_id": THREAD}})]
    at_read = next(s for s in history if s.next == ("read",))
    keep = at_read.config["configurable"]["checkpoint_id"]
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM writes WHERE checkpoint_id = ?", (keep,)).fetchone()[0] > 0
        conn.execute("DELETE FROM checkpoints WHERE thread_id = ? AND checkpoint_id > ?", (THREAD, keep))
        conn.execute("DELETE FROM writes WHERE thread_id = ? AND checkpoint_id > ?", (THREAD, keep))


async def test_saved_writes_with_empty_next_continue_the_thread(tmp_path: Path) -> None:
    spec, checkpoint = default_registry.get("researcher@1"), CheckpointConfig(sqlite_dir=tmp_path / "cp")
    kwargs = {"mode": "resume", "thread_id": THREAD, "checkpoint": checkpoint}
    first = run_graph(spec, INPUT, context=_ctx(tmp_path / "first.jsonl"), attempt=1, **kwargs)  # type: ignore[arg-type]
    await _cut_after_read(checkpoint.sqlite_file(THREAD))

    retry = run_graph(spec, INPUT, context=_ctx(tmp_path / "retry.jsonl"), attempt=2, **kwargs)  # type: ignore[arg-type]

    assert retry.resumed and retry.output == first.output
    assert "retrieve" not in retry.nodes_run and retry.nodes_run[-1] == "finalize"
    assert "read" not in [c["node"] for c in read_call_log(tmp_path / "retry.jsonl")], "read's saved writes were lost"
    audit = checkpoint_audit(tmp_path / "cp")
    assert audit["rerun_from_input"] == 0 and audit["forked_threads"] == 0, audit


def test_a_finished_thread_returns_its_output_without_running(tmp_path: Path) -> None:
    spec, checkpoint = default_registry.get("researcher@1"), CheckpointConfig(sqlite_dir=tmp_path / "cp")
    kwargs = {"mode": "resume", "thread_id": THREAD, "checkpoint": checkpoint}
    first = run_graph(spec, INPUT, context=_ctx(tmp_path / "first.jsonl"), attempt=1, **kwargs)  # type: ignore[arg-type]
    before = checkpoint_audit(tmp_path / "cp")["checkpoints"]

    again = run_graph(spec, INPUT, context=_ctx(tmp_path / "again.jsonl"), attempt=2, **kwargs)  # type: ignore[arg-type]

    assert again.output == first.output and again.resumed and again.nodes_run == []
    assert not (tmp_path / "again.jsonl").exists(), "a finished thread called the model again"
    audit = checkpoint_audit(tmp_path / "cp")
    assert audit["checkpoints"] == before and audit["rerun_from_input"] == 0, audit
