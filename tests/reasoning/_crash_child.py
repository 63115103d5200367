"""Child process for crash tests: runs researcher@1 with the slow fake model.

Usage: python -m tests.reasoning._crash_child MODE THREAD DB CALL_LOG EVENTS OUT
Each finished node is appended to EVENTS (flushed), and the RunResult is written to OUT.
"""

from __future__ import annotations

import sys
from pathlib import Path

from reasoning import (
    CheckpointConfig,
    FakeChatModel,
    GraphContext,
    NodeEvent,
    ResearchInput,
    Subtask,
    default_registry,
    run_graph,
)
from tests.reasoning.corpus import KeywordRetriever

SUBTASK = Subtask(id="s1", kind="research", question="How does a checkpointer resume a graph?")


def main(mode: str, thread: str, db: str, call_log: str, events: str, out: str) -> None:
    model = FakeChatModel(latency_s=0.3, call_log=Path(call_log))
    ctx = GraphContext(retriever=KeywordRetriever(), model=model)

    def on_node(event: NodeEvent) -> None:
        with open(events, "a", encoding="utf-8") as fh:
            fh.write(event.model_dump_json() + "\n")

    result = run_graph(
        default_registry.get("researcher@1"),
        ResearchInput(subtask=SUBTASK),
        context=ctx,
        mode=mode,  # type: ignore[arg-type]
        thread_id=thread,
        checkpoint=CheckpointConfig(sqlite_path=Path(db)),
        on_node=on_node,
    )
    Path(out).write_text(result.model_dump_json())


if __name__ == "__main__":
    main(*sys.argv[1:7])
