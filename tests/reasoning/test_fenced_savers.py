"""One conformance suite for both fenced checkpointers (SQLite on one host, Postgres on several).

The fencing contract, run against each store exactly as the runner opens it (`open_saver`): an
attempt claims a thread; a lower attempt is refused, at its claim and at every later write; a
refused write leaves nothing behind, so the owner resumes from a linear chain; a claim behind a
writer that holds the store's lock fails within the busy timeout instead of waiting for ever.
LangGraph's own checkpointer conformance suite (`langgraph-checkpoint-conformance`) runs against
both too, so the fence does not bend the saver contract LangGraph relies on.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.base import empty_checkpoint
from langgraph.checkpoint.conformance import checkpointer_test, validate

from reasoning import CheckpointBusyError, CheckpointConfig, SupersededAttemptError
from reasoning.checkpoints import open_saver

THREAD = "job-7/run-1/subtask/s1/r1"

Store = Callable[..., CheckpointConfig]


def _fresh_database(postgres_url: str) -> str:
    """A new, empty database on the suite's server, so a test sees only its own rows."""
    import psycopg

    name = f"fence_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return postgres_url.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    """A factory of CheckpointConfigs that all point at one fresh store of the given kind."""
    if request.param == "sqlite":
        return lambda **kw: CheckpointConfig(sqlite_dir=tmp_path / "checkpoints", **kw)
    url = _fresh_database(request.getfixturevalue("postgres_url"))
    return lambda **kw: CheckpointConfig(postgres_url=url, **kw)


def _config(thread: str, parent: str | None = None) -> dict[str, Any]:
    configurable = {"thread_id": thread, "checkpoint_ns": ""}
    if parent:
        configurable["checkpoint_id"] = parent
    return {"configurable": configurable}


async def _put(saver: Any, parent: str | None = None) -> str:
    checkpoint = empty_checkpoint()
    saved = await saver.aput(_config(THREAD, parent), checkpoint, {"source": "loop", "step": 1}, {})
    return str(saved["configurable"]["checkpoint_id"])


async def _chain(saver: Any) -> list[str]:
    return [t.config["configurable"]["checkpoint_id"] async for t in saver.alist(_config(THREAD))]


async def test_a_higher_attempt_takes_over_and_the_lower_one_is_refused(store: Store) -> None:
    async with open_saver(store(), THREAD, 1) as first:
        kept = await _put(first)
        async with open_saver(store(), THREAD, 2) as second:
            # The zombie's next checkpoint and pending writes are refused, whatever it sends.
            with pytest.raises(SupersededAttemptError) as refused:
                await _put(first, kept)
            assert (refused.value.attempt, refused.value.owner) == (1, 2)
            with pytest.raises(SupersededAttemptError):
                await first.aput_writes(_config(THREAD, kept), [("draft", "late")], task_id="t-zombie")
            with pytest.raises(SupersededAttemptError):
                await first.claim(THREAD)
            # The owner resumes from what was there before the refusal, and goes on linearly.
            latest = await second.aget_tuple(_config(THREAD))
            assert latest is not None and latest.config["configurable"]["checkpoint_id"] == kept
            assert latest.pending_writes == []
            newer = await _put(second, kept)
            assert sorted(await _chain(second)) == sorted([kept, newer])
    # A lower attempt that starts late is refused before it reads anything.
    with pytest.raises(SupersededAttemptError):
        async with open_saver(store(), THREAD, 1):
            pass


async def test_the_same_attempt_may_reopen_its_thread(store: Store) -> None:
    # A retried open of the same attempt (a reconnect) is not a takeover.
    async with open_saver(store(), THREAD, 3) as saver:
        kept = await _put(saver)
    async with open_saver(store(), THREAD, 3) as saver:
        assert await _chain(saver) == [kept]
        await _put(saver, kept)


async def test_a_claim_behind_a_held_lock_fails_within_the_busy_timeout(store: Store) -> None:
    config = store(busy_timeout_s=0.5)
    async with open_saver(config, THREAD, 1):
        pass
    async with _held_lock(config):
        started = asyncio.get_running_loop().time()
        with pytest.raises(CheckpointBusyError):
            async with open_saver(config, THREAD, 2):
                pass
        assert asyncio.get_running_loop().time() - started < 10
    # Once the writer lets go, the same claim goes through: the refusal left nothing locked.
    async with open_saver(config, THREAD, 2) as saver:
        await _put(saver)


@contextlib.asynccontextmanager
async def _held_lock(config: CheckpointConfig) -> AsyncIterator[None]:
    """Another writer holding the store's lock: a paused process inside a write transaction."""
    if config.postgres_url is None:
        conn = sqlite3.connect(config.sqlite_file(THREAD), isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")  # SQLite's one write lock
        try:
            yield
        finally:
            conn.rollback()
            conn.close()
        return
    import psycopg

    async with await psycopg.AsyncConnection.connect(config.postgres_url) as aconn:
        # The owner row locked as a checked write in flight locks it (its trigger reads it FOR SHARE).
        await aconn.execute("SELECT attempt FROM thread_owner WHERE thread_id = %s FOR UPDATE", (THREAD,))
        yield
        await aconn.rollback()


async def test_langgraphs_conformance_suite_passes(store: Store, tmp_path: Path) -> None:
    counter = iter(range(100))

    @checkpointer_test(name="fenced")
    async def fenced() -> AsyncIterator[Any]:
        # A fresh store per capability suite, opened and claimed as the runner opens it.
        config = store()
        if config.postgres_url is None:
            config = CheckpointConfig(sqlite_path=tmp_path / f"conformance-{next(counter)}.sqlite")
        else:
            config = CheckpointConfig(postgres_url=_fresh_database(config.postgres_url))
        async with open_saver(config, "conformance-owner", 1) as saver:
            yield saver

    report = await validate(fenced)
    failed = {name: result for name, result in report.results.items() if not result.passed}
    assert report.passed_all_base(), failed
