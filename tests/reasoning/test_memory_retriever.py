"""MemoryRetriever adapts retrieval's semantic memory to the graphs' Retriever protocol."""

from __future__ import annotations

from reasoning import Evidence, MemoryRetriever, Retriever
from retrieval import InMemoryMemory


def test_hits_become_evidence_and_where_filters_apply(corpus_memory: InMemoryMemory) -> None:
    retriever = MemoryRetriever(corpus_memory)
    assert isinstance(retriever, Retriever)
    hits = retriever.retrieve("How is sourdough bread made?", k=2)
    assert all(isinstance(h, Evidence) for h in hits) and len(hits) == 2
    assert hits[0].source == "baking.md" and hits[0].title == "baking"
    assert hits[0].score >= hits[1].score

    only_chroma = MemoryRetriever(corpus_memory, where={"source": "chroma.md"})
    assert {h.source for h in only_chroma.retrieve("sourdough bread", k=3)} == {"chroma.md"}
