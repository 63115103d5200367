"""Resume mode on Postgres (the several-hosts checkpointer), against a real server in tmp_path.

Needs the `postgres` extra (langgraph-checkpoint-postgres, psycopg) and PostgreSQL's
`initdb`/`postgres` binaries; skipped, saying which is missing, otherwise.
"""

from __future__ import annotations

import getpass
import time
from pathlib import Path

import pytest

from reasoning import (
    CheckpointConfig,
    FakeChatModel,
    GraphContext,
    ResearchInput,
    RetryableModelError,
    Subtask,
    default_registry,
    read_call_log,
    run_graph,
)
from tests.reasoning.corpus import KeywordRetriever
from tests.reasoning.outage import TaskOutage

pytest.importorskip("langgraph.checkpoint.postgres.aio", reason="pip install '.[postgres]'")
pytestmark = pytest.mark.slow

INPUT = ResearchInput(subtask=Subtask(id="s1", kind="research", question="What is Chroma?"))


def test_resume_on_postgres_continues_after_a_failed_node(postgres_url: str, tmp_path: Path) -> None:
    spec, log = default_registry.get("researcher@1"), tmp_path / "calls.jsonl"
    fake = FakeChatModel(call_log=log)
    checkpoint = CheckpointConfig(postgres_url=postgres_url)
    thread = f"wf-{getpass.getuser()}-{time.time_ns()}/act"
    outage = GraphContext(retriever=KeywordRetriever(), model=TaskOutage(fake=fake))
    with pytest.raises(RetryableModelError):
        run_graph(spec, INPUT, context=outage, mode="resume", thread_id=thread, checkpoint=checkpoint)
    ctx = GraphContext(retriever=KeywordRetriever(), model=fake)
    result = run_graph(spec, INPUT, context=ctx, mode="resume", thread_id=thread, checkpoint=checkpoint)
    assert result.resumed and result.nodes_run == ["draft", "check", "finalize"]
    assert [c["node"] for c in read_call_log(log)] == ["read", "draft", "check"]
    assert result.output == run_graph(spec, INPUT, context=ctx).output


async def test_postgres_refuses_a_superseded_attempt(postgres_url: str, tmp_path: Path) -> None:
    """The fencing rule of the SQLite store holds on Postgres: attempt 1, still in a model call
    when attempt 2 claims the thread, has its next write refused; the chain stays linear."""
    import asyncio

    import psycopg

    from reasoning import NodeEvent, SupersededAttemptError, arun_graph

    spec, checkpoint = default_registry.get("researcher@1"), CheckpointConfig(postgres_url=postgres_url)
    thread = f"job-{time.time_ns()}/run/subtask/s1/r1"
    read_done = asyncio.Event()

    def on_node(event: NodeEvent) -> None:
        if event.node == "read":
            read_done.set()

    def ctx(latency_s: float = 0.0) -> GraphContext:
        return GraphContext(retriever=KeywordRetriever(), model=FakeChatModel(latency_s=latency_s))

    kwargs = {"mode": "resume", "thread_id": thread, "checkpoint": checkpoint}
    zombie = asyncio.create_task(arun_graph(spec, INPUT, context=ctx(0.8), on_node=on_node, attempt=1, **kwargs))  # type: ignore[arg-type]
    await asyncio.wait_for(read_done.wait(), 30)
    newer = await arun_graph(spec, INPUT, context=ctx(), attempt=2, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(SupersededAttemptError, match="attempt 1 < owner 2"):
        await asyncio.wait_for(zombie, 30)
    with pytest.raises(SupersededAttemptError, match="attempt 1 < owner 2"):
        await arun_graph(spec, INPUT, context=ctx(), attempt=1, **kwargs)  # type: ignore[arg-type]

    assert newer.resumed and newer.output == run_graph(spec, INPUT, context=ctx()).output
    with psycopg.connect(postgres_url) as conn:
        forks = conn.execute(
            "SELECT COUNT(*) FROM (SELECT 1 FROM checkpoints WHERE thread_id = %s AND parent_checkpoint_id IS NOT NULL"
            " GROUP BY checkpoint_ns, parent_checkpoint_id HAVING COUNT(*) > 1) f",
            (thread,),
        ).fetchone()
    assert forks == (0,)
