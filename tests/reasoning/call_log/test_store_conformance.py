"""One spec for every call-log store (SQLite on one host, Postgres on several): entries round-trip,
the owner record fences them, and a superseded attempt can neither read nor write."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from reasoning import CheckpointConfig, SupersededAttemptError
from reasoning.call_log import CallLogStore, open_call_log


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CallLogStore]:
    if request.param == "postgres":
        pytest.importorskip("psycopg", reason="pip install '.[postgres]'")
        config = CheckpointConfig(postgres_url=request.getfixturevalue("postgres_url"), busy_timeout_s=2)
    else:
        config = CheckpointConfig(sqlite_dir=tmp_path, busy_timeout_s=2)
    opened = open_call_log(config, "job/run/act")
    assert opened is not None
    yield opened
    opened.close()


@pytest.fixture
def thread() -> str:
    return f"job-{uuid.uuid4().hex[:8]}/run/act"  # a thread of its own in a database shared by the suite


def test_an_entry_round_trips_and_is_replaced(store: CallLogStore, thread: str) -> None:
    store.claim(thread, 1)
    assert store.get(thread, "p#0", "f", 1) is None
    store.put(thread, "p#0", "f", 1, "model", 1, b"first")
    entry = store.get(thread, "p#0", "f", 1)
    assert entry is not None and (entry.format, entry.payload, entry.attempt) == (1, b"first", 1)
    store.put(thread, "p#0", "f", 1, "model", 2, b"second")
    assert store.get(thread, "p#0", "f", 1).payload == b"second"  # type: ignore[union-attr]
    assert store.get(thread, "p#0", "other fingerprint", 1) is None
    assert store.get(thread, "p#1", "f", 1) is None


def test_a_newer_attempt_takes_over_and_the_older_is_refused(store: CallLogStore, thread: str) -> None:
    store.claim(thread, 1)
    store.put(thread, "p#0", "f", 1, "model", 1, b"by one")
    store.claim(thread, 2)
    store.claim(thread, 2)  # the owner may claim again (a second run in the same attempt)
    assert store.get(thread, "p#0", "f", 2).attempt == 1  # type: ignore[union-attr]  # the successor reads it

    with pytest.raises(SupersededAttemptError) as refused:
        store.get(thread, "p#0", "f", 1)  # the zombie neither reads ...
    assert (refused.value.attempt, refused.value.owner) == (1, 2)
    with pytest.raises(SupersededAttemptError):
        store.put(thread, "p#1", "g", 1, "model", 1, b"zombie")  # ... nor writes
    with pytest.raises(SupersededAttemptError):
        store.claim(thread, 1)  # ... nor takes the thread back
    assert store.get(thread, "p#1", "g", 2) is None

    store.put(thread, "p#1", "g", 2, "model", 1, b"by two")
    assert store.get(thread, "p#1", "g", 2).payload == b"by two"  # type: ignore[union-attr]


def test_an_unfenced_reader_is_never_refused(store: CallLogStore, thread: str) -> None:
    store.claim(thread, 3)
    store.put(thread, "p#0", "f", None, "tool", 1, b"notebook")
    assert store.get(thread, "p#0", "f", None).payload == b"notebook"  # type: ignore[union-attr]


def test_threads_are_apart(store: CallLogStore, thread: str) -> None:
    other = thread.replace("/act", "/other")
    store.claim(thread, 5)
    store.claim(other, 1)
    store.put(other, "p#0", "f", 1, "model", 1, b"x")
    assert store.get(thread, "p#0", "f", 5) is None
