"""One semantic-memory spec, run against every store: in-memory, local Chroma, Chroma over HTTP."""

from __future__ import annotations

import pytest

from retrieval import (
    Document,
    Hit,
    InvalidCollectionNameError,
    InvalidFilterError,
    MemoryConfigError,
    SemanticMemory,
)
from tests.retrieval.conftest import StoreFactory

DOCS = [
    Document(
        id="retry",
        text="Temporal retries a failed activity according to its retry policy.",
        metadata={"source": "temporal.md", "job": "j1", "n": 1, "w": 0.5, "ok": True},
    ),
    Document(
        id="graph",
        text="A LangGraph StateGraph wires nodes and edges over a shared state.",
        metadata={"source": "langgraph.md", "job": "j1", "n": 2, "w": 1.5, "ok": False},
    ),
    Document(
        id="chroma",
        text="Chroma stores embeddings in collections and answers nearest-neighbour queries.",
        metadata={"source": "chroma.md", "job": "j2", "n": 3, "w": 2.5, "ok": True},
    ),
]


@pytest.fixture
def store(make_store: StoreFactory) -> SemanticMemory:
    memory = make_store()
    assert memory.upsert(DOCS) == 3
    return memory


def test_upsert_reports_only_new_ids(store: SemanticMemory) -> None:
    changed = DOCS[0].model_copy(update={"text": "Activities are retried by Temporal."})
    extra = Document(id="extra", text="Something else entirely.", metadata={"source": "x"})
    assert store.upsert([changed, extra]) == 1
    assert store.upsert(DOCS) == 0
    assert store.count() == 4


def test_query_returns_hits_most_similar_first(store: SemanticMemory) -> None:
    hits = store.query("How does Temporal retry a failing activity?", k=3)
    assert [type(h) for h in hits] == [Hit] * 3
    assert hits[0].id == "retry"
    assert hits[0].source == "temporal.md"
    assert hits[0].text == DOCS[0].text
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)
    assert all(-1.0 <= s <= 1.0 for s in scores)
    assert scores[0] > 0.5


def test_query_k_larger_than_collection(store: SemanticMemory) -> None:
    assert len(store.query("anything", k=50)) == 3


def test_metadata_round_trips_with_types(store: SemanticMemory) -> None:
    (hit,) = [h for h in store.query("StateGraph nodes", k=3) if h.id == "graph"]
    assert hit.metadata == DOCS[1].metadata
    assert isinstance(hit.metadata["n"], int) and isinstance(hit.metadata["ok"], bool)


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ({"job": "j1"}, {"retry", "graph"}),
        ({"job": "j1", "source": "langgraph.md"}, {"graph"}),
        ({"n": {"$gte": 2}}, {"graph", "chroma"}),
        ({"w": {"$lt": 2.0}}, {"retry", "graph"}),
        ({"source": {"$in": ["chroma.md", "temporal.md"]}}, {"retry", "chroma"}),
        ({"job": {"$ne": "j1"}}, {"chroma"}),
        ({"$or": [{"n": 1}, {"n": 3}]}, {"retry", "chroma"}),
        ({"ok": True}, {"retry", "chroma"}),
        ({"job": "nobody"}, set()),
    ],
)
def test_filters_apply_to_query_and_count(store: SemanticMemory, where: dict, expected: set[str]) -> None:
    assert {h.id for h in store.query("documentation", k=10, where=where)} == expected
    assert store.count(where) == len(expected)


def test_get_keeps_order_and_skips_missing(store: SemanticMemory) -> None:
    docs = store.get(["chroma", "missing", "retry"])
    assert [d.id for d in docs] == ["chroma", "retry"]
    assert docs[0] == DOCS[2]
    assert store.get([]) == []


def test_delete_by_ids_filter_and_both(store: SemanticMemory) -> None:
    assert store.delete(ids=["retry", "missing"]) == 1
    assert store.delete(ids=["graph", "chroma"], where={"job": "j2"}) == 1
    assert store.count() == 1
    assert store.delete(where={"job": "j1"}) == 1
    assert store.count() == 0
    with pytest.raises(MemoryConfigError, match="delete needs"):
        store.delete()


def test_reopening_sees_the_same_data(store: SemanticMemory, make_store: StoreFactory) -> None:
    again = make_store(store.collection)
    assert again.count() == 3
    assert again.get(["graph"])[0].text == DOCS[1].text


def test_bad_input_gets_specific_errors(store: SemanticMemory, make_store: StoreFactory) -> None:
    with pytest.raises(InvalidFilterError, match=r"\$regex"):
        store.query("x", where={"source": {"$regex": "a.*"}})
    with pytest.raises(InvalidFilterError, match="non-empty list"):
        store.count({"source": {"$in": []}})
    with pytest.raises(MemoryConfigError, match="empty"):
        store.query("   ")
    with pytest.raises(MemoryConfigError, match="k must be"):
        store.query("x", k=0)
    for name in ("ab", "bad name!", "-dash", "192.168.0.1", "a..b"):
        with pytest.raises(InvalidCollectionNameError, match="not allowed by Chroma"):
            make_store(name)


def test_query_by_vector_is_the_dense_half(store: SemanticMemory, make_store: StoreFactory, embeddings) -> None:
    question = "Which database stores embeddings?"
    dense_only = make_store(lexical="none")
    dense_only.upsert(DOCS)
    by_text = dense_only.query(question, k=3)
    by_vector = store.query_by_vector(embeddings.embed_query(question), k=3)  # type: ignore[attr-defined]
    assert [h.id for h in by_vector] == [h.id for h in by_text]
    assert by_vector[0].score == pytest.approx(by_text[0].score, abs=1e-5)
    assert by_vector[0].id == store.query(question, k=1)[0].id == "chroma"
