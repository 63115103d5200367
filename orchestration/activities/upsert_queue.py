"""Concurrent micro-batches' memory writes, merged: one upsert call per collection at a time.

A local Chroma upsert costs ~15-20 ms whatever its size (25 small documents: 21 ms, of which
Chroma 18), and it must run in the worker's process (one writer per Chroma folder). With
several micro-batches flushing at once, each waiting for its own call made the worker's
process the batch's bottleneck. Here the groups that arrive while a call runs go together
in the next one; each caller still returns only once its own documents are stored, so a
micro-batch writes its records after its results are indexed, as before. Ids are content
hashes and the store's upsert keeps one document per id: merging never doubles anything.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from retrieval import Document, SemanticMemory


class UpsertQueue:
    """Merges the upserts of the activities of one event loop, per collection."""

    def __init__(self) -> None:
        self._waiting: dict[str, list[tuple[Sequence[Document], asyncio.Future[None]]]] = {}
        self._writing: dict[str, asyncio.Future[None]] = {}  # a reference keeps each writer task alive

    async def upsert(self, collection: str, memory: SemanticMemory, docs: Sequence[Document]) -> None:
        """Return once `docs` are in `memory` (raises what its upsert raised)."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(collection, []).append((docs, done))
        if collection not in self._writing:
            self._writing[collection] = asyncio.ensure_future(self._write(collection, memory))
        await asyncio.shield(done)  # a cancelled caller's documents are still written: harmless, idempotent

    async def _write(self, collection: str, memory: SemanticMemory) -> None:
        try:
            while self._waiting.get(collection):
                calls = self._waiting.pop(collection)
                try:
                    await asyncio.to_thread(memory.upsert, [d for docs, _ in calls for d in docs])
                except Exception as exc:
                    for _, done in calls:
                        if not done.done():
                            done.set_exception(exc)
                else:
                    for _, done in calls:
                        if not done.done():
                            done.set_result(None)
        finally:
            self._writing.pop(collection, None)
