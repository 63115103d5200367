"""The checkpoint audit the chaos benchmark uses finds a forked chain and a re-run from input in a real
LangGraph SQLite checkpointer, and counts a clean thread as neither."""

from __future__ import annotations

import operator
from pathlib import Path
from typing import Annotated, TypedDict

from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph import END, START, StateGraph

from experiments.benchmarks.chaos.audit import checkpoint_audit


class _State(TypedDict):
    steps: Annotated[list[str], operator.add]


def _graph(saver: SqliteSaver):  # type: ignore[no-untyped-def]
    g = StateGraph(_State)
    g.add_node("a", lambda s: {"steps": ["a"]})
    g.add_node("b", lambda s: {"steps": ["b"]})
    g.add_edge(START, "a")
    g.add_edge("a", "b")
    g.add_edge("b", END)
    return g.compile(checkpointer=saver)


def test_clean_fork_and_rerun(tmp_path: Path) -> None:
    db = tmp_path / "checkpoints.sqlite"
    with SqliteSaver.from_conn_string(str(db)) as saver:
        graph = _graph(saver)
        graph.invoke({"steps": []}, {"configurable": {"thread_id": "clean"}})
        assert checkpoint_audit(db) | {"checkpoints": 0} == {
            "databases": 1, "threads": 1, "checkpoints": 0, "forked_threads": 0, "rerun_from_input": 0,
        }  # fmt: skip

        # A second run from input on a thread that already has a chain (issue 16, defect 2).
        graph.invoke({"steps": []}, {"configurable": {"thread_id": "rerun"}})
        graph.invoke({"steps": []}, {"configurable": {"thread_id": "rerun"}})

        # Two writers continuing from one checkpoint (issue 16, defect 1): replay from an
        # earlier checkpoint writes a second child of it.
        graph.invoke({"steps": []}, {"configurable": {"thread_id": "fork"}})
        history = list(graph.get_state_history({"configurable": {"thread_id": "fork"}}))
        middle = next(h for h in history if h.next == ("b",))
        graph.invoke(None, middle.config)

    audit = checkpoint_audit(db)
    assert audit["threads"] == 3
    assert audit["rerun_from_input"] == 1
    assert audit["forked_threads"] == 1


def test_missing_store_counts_as_empty(tmp_path: Path) -> None:
    assert checkpoint_audit(tmp_path / "nope.sqlite")["databases"] == 0
