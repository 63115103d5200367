"""Concurrent micro-batches' memory writes: merged into one upsert while one runs, each caller told of its own."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence

import pytest

from orchestration.activities.upsert_queue import UpsertQueue
from retrieval import Document


class _SlowMemory:
    """Records each upsert call's ids; the first call is slow so the others queue behind it."""

    def __init__(self, fail_on: str | None = None) -> None:
        self.calls: list[list[str]] = []
        self.fail_on = fail_on
        self._lock = threading.Lock()

    def upsert(self, docs: Sequence[Document]) -> int:
        with self._lock:
            first = not self.calls
            self.calls.append([d.id for d in docs])
        if first:
            time.sleep(0.2)
        if self.fail_on and any(d.id == self.fail_on for d in docs):
            raise RuntimeError("store unavailable")
        return len(docs)


def _docs(prefix: str, n: int) -> list[Document]:
    return [Document(id=f"{prefix}-{i}", text=f"text {prefix} {i}") for i in range(n)]


async def test_groups_arriving_during_a_write_go_together_in_the_next() -> None:
    queue, memory = UpsertQueue(), _SlowMemory()
    first = asyncio.ensure_future(queue.upsert("c", memory, _docs("a", 2)))  # type: ignore[arg-type]
    await asyncio.sleep(0.05)  # the first write is running
    await asyncio.gather(
        first,
        queue.upsert("c", memory, _docs("b", 2)),  # type: ignore[arg-type]
        queue.upsert("c", memory, _docs("c", 3)),  # type: ignore[arg-type]
    )
    assert memory.calls == [["a-0", "a-1"], ["b-0", "b-1", "c-0", "c-1", "c-2"]]


async def test_a_failed_write_fails_every_caller_in_it_and_the_queue_goes_on() -> None:
    queue, memory = UpsertQueue(), _SlowMemory(fail_on="b-0")
    first = asyncio.ensure_future(queue.upsert("c", memory, _docs("a", 1)))  # type: ignore[arg-type]
    await asyncio.sleep(0.05)
    results = await asyncio.gather(
        first,
        queue.upsert("c", memory, _docs("b", 1)),  # type: ignore[arg-type]
        queue.upsert("c", memory, _docs("x", 1)),  # type: ignore[arg-type]
        return_exceptions=True,
    )
    assert results[0] is None
    assert [str(r) for r in results[1:]] == ["store unavailable", "store unavailable"]
    await queue.upsert("c", memory, _docs("d", 1))  # type: ignore[arg-type]
    assert memory.calls[-1] == ["d-0"]


@pytest.mark.parametrize("setting, cpus, expected", [(None, 1, 0), (None, 4, 4), (0, 4, 0), (3, 1, 3)])
def test_pool_size(setting: int | None, cpus: int, expected: int, monkeypatch: pytest.MonkeyPatch) -> None:
    from orchestration.activities import doc_pool

    monkeypatch.setattr(doc_pool, "usable_cpus", lambda: cpus)
    assert doc_pool.pool_size(setting) == expected
