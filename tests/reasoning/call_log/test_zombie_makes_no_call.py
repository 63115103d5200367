"""An attempt superseded while it was inside a call (paused past its heartbeat timeout) makes no
further call: its in-flight result is refused by the log, and the newer attempt pays for nothing
the older one had finished. On SQLite and on Postgres (several hosts)."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path
from typing import Any

import pytest

from reasoning import CheckpointConfig, FakeChatModel, GraphContext, SupersededAttemptError, default_registry, run_graph
from reasoning.call_log import open_call_log
from tests.reasoning.call_log.helpers import INPUT, paid
from tests.reasoning.call_log.probe_graph import CALLS, GRAPH
from tests.reasoning.corpus import KeywordRetriever

TAKEOVER_AT = 2


class _TakenOverMidCall(FakeChatModel):
    """Answers like the fake; during its `TAKEOVER_AT`-th call a newer attempt claims the thread."""

    config: Any = None
    thread: str = ""
    calls: list[int]  # shared with the copy the run makes of this model

    def _generate(self, *args: Any, **kwargs: Any) -> Any:
        self.calls.append(1)
        if len(self.calls) == TAKEOVER_AT:  # the successor claims while this call is still in flight
            store = open_call_log(self.config, self.thread)
            assert store is not None
            store.claim(self.thread, 2)
            store.close()
        return super()._generate(*args, **kwargs)


@pytest.fixture(params=["sqlite", "postgres"])
def config(request: pytest.FixtureRequest, tmp_path: Path) -> CheckpointConfig:
    if request.param == "postgres":
        pytest.importorskip("psycopg", reason="pip install '.[postgres]'")
        return CheckpointConfig(postgres_url=request.getfixturevalue("postgres_url"))
    return CheckpointConfig(sqlite_dir=tmp_path / "checkpoints")


def _run(model: FakeChatModel, config: CheckpointConfig, thread: str, attempt: int) -> Any:
    context = GraphContext(retriever=KeywordRetriever(), model=model)
    spec = default_registry.get(GRAPH)
    return run_graph(spec, INPUT, context=context, thread_id=thread, checkpoint=config, attempt=attempt)


def test_a_superseded_attempt_stops_before_its_next_call(tmp_path: Path, config: CheckpointConfig) -> None:
    thread, log = f"job-{uuid.uuid4().hex[:8]}/run/act", tmp_path / "calls.jsonl"
    zombie = _TakenOverMidCall(call_log=log, config=config, thread=thread, calls=[])
    with pytest.raises(SupersededAttemptError):
        _run(zombie, config, thread, attempt=1)
    assert len(zombie.calls) == TAKEOVER_AT  # the call in flight at the takeover, and not one more

    successor = _run(FakeChatModel(call_log=log), config, thread, attempt=2)
    assert (successor.replayed_calls, successor.model_calls) == (TAKEOVER_AT - 1, CALLS - TAKEOVER_AT + 1)
    counts = paid(log)
    # Only the call in flight at the takeover was paid twice (its result was refused, not stored).
    assert sum(counts.values()) == CALLS + 1 and list(counts.values()).count(2) == 1

    # The zombie wrote exactly the entries it finished before the takeover.
    if config.sqlite_dir is not None:
        with sqlite3.connect(config.sqlite_file(thread)) as conn:
            by_attempt = dict(conn.execute("SELECT attempt, COUNT(*) FROM call_log GROUP BY attempt").fetchall())
        assert by_attempt == {1: TAKEOVER_AT - 1, 2: CALLS - TAKEOVER_AT + 1}
