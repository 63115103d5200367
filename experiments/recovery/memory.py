"""The side effects of the workload: a Chroma memory with content-hash ids, and a ledger.

Both sit outside every checkpoint, which is the point: a node that re-runs after a
crash writes again. Memory upserts are keyed by the sha256 of the text, so a re-run
adds no document (idempotent), while the ledger is an append-only SQLite table, the
shape of a naive side effect (an e-mail sent, a row billed), so its extra rows count
exactly how often a write was repeated.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

COLLECTION = "recovery-memory"
_DIM = 32
_lock = threading.Lock()
_once_lock = threading.Lock()
_clients: dict[str, Any] = {}

CORPUS = (
    "A Temporal activity that heartbeats is retried on another worker after its "
    "heartbeat timeout when the worker process dies.",
    "LangGraph writes a checkpoint after every superstep and saves each finished task's "
    "writes, so a resumed thread skips work that already finished.",
    "Resuming a LangGraph thread needs invoke(None) with the same thread id; sending the "
    "input again starts a new run on top of the old state.",
    "Content-hash ids make memory upserts idempotent: writing the same note twice keeps one document.",
    "Sticky task queues route a workflow's next task to the worker that cached it; a "
    "dead worker delays the task until the sticky schedule-to-start timeout.",
    "Model calls dominate the cost of an agent run: re-executed calls are paid twice, in tokens and in seconds.",
)


def doc_id(text: str) -> str:
    """The content-hash id of a memory document."""
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def embed(text: str) -> list[float]:
    """A cheap deterministic bag-of-words embedding (the model under test is not this)."""
    vec = [0.0] * _DIM
    for word in text.lower().split():
        h = hashlib.blake2b(word.strip(".,;:()").encode(), digest_size=2).digest()
        vec[h[0] % _DIM] += 1.0 if h[1] % 2 else 0.5
    norm = sum(v * v for v in vec) ** 0.5 or 1.0
    return [v / norm for v in vec]


def _collection(memory_dir: str) -> Any:
    """One persistent Chroma client per directory per process (opened lazily)."""
    import chromadb
    from chromadb.config import Settings

    with _lock:
        client = _clients.get(memory_dir)
        if client is None:
            client = chromadb.PersistentClient(path=memory_dir, settings=Settings(anonymized_telemetry=False))
            _clients[memory_dir] = client
    return client.get_or_create_collection(COLLECTION, embedding_function=None, metadata={"hnsw:space": "cosine"})


def seed_corpus(memory_dir: str) -> None:
    """Upsert the fixed corpus; idempotent, so every attempt may call it."""
    ids = [doc_id(t) for t in CORPUS]
    _collection(memory_dir).upsert(
        ids=ids,
        documents=list(CORPUS),
        embeddings=[embed(t) for t in CORPUS],
        metadatas=[{"kind": "corpus"} for _ in CORPUS],
    )


def search(memory_dir: str, query: str, k: int = 3) -> list[str]:
    """The `k` corpus passages nearest to `query`, in a stable order."""
    result = _collection(memory_dir).query(query_embeddings=[embed(query)], n_results=k, where={"kind": "corpus"})
    docs = result.get("documents") or [[]]
    return [str(d) for d in docs[0]]


def remember(memory_dir: str, ledger_path: str, run: str, text: str) -> bool:
    """Upsert one note under its content hash and append a ledger row.

    Returns:
        True when the document already existed, i.e. this write repeated one.
    """
    collection = _collection(memory_dir)
    ident = doc_id(text)
    existed = bool(collection.get(ids=[ident])["ids"])
    collection.upsert(ids=[ident], documents=[text], embeddings=[embed(text)], metadatas=[{"kind": "note"}])
    with sqlite3.connect(ledger_path) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS ledger (run TEXT, doc_id TEXT, t REAL)")
        conn.execute("INSERT INTO ledger VALUES (?, ?, ?)", (run, ident, time.time()))
    return existed


def warm_up() -> None:
    """Pay Chroma's first-client cost (engine start, migrations) in a throwaway folder."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="recovery-warm-") as folder:
        seed_corpus(folder)
        search(folder, "warm up")
        with _lock:
            client = _clients.pop(folder)
        client.clear_system_cache()


def count_notes(memory_dir: str) -> int:
    """Documents of kind note in the memory (the controller reads this after a run)."""
    return len(_collection(memory_dir).get(where={"kind": "note"})["ids"])


def count_notes_once(memory_dir: str) -> int:
    """`count_notes` from a process that does not keep the folder open (the controller)."""
    import chromadb
    from chromadb.config import Settings

    if not Path(memory_dir).exists():
        return 0
    # clear_system_cache empties Chroma's process-wide cache of clients: one count at a time,
    # or a count for another experiment running in this process loses its client mid-way.
    with _once_lock:
        client = chromadb.PersistentClient(path=memory_dir, settings=Settings(anonymized_telemetry=False))
        try:
            collection = client.get_or_create_collection(COLLECTION, embedding_function=None)
            return len(collection.get(where={"kind": "note"})["ids"])
        finally:
            client.clear_system_cache()


def count_ledger(ledger_path: str) -> int:
    """Rows in the ledger (0 when no write happened)."""
    if not Path(ledger_path).exists():
        return 0
    with sqlite3.connect(ledger_path) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM ledger").fetchone()[0])
