"""A persistent lexical (BM25) index beside each collection, on SQLite FTS5 from the stdlib.

Why SQLite FTS5: it ships with Python's ``sqlite3``, keeps its index on disk, adds and
deletes rows incrementally (``bm25s`` rebuilds the whole index instead), and several
processes may share one file (WAL, a busy timeout). One file holds the indexes of many
collections; each collection's tables are keyed by the Chroma collection id, so a
collection deleted and re-created under the same name starts with an empty index.

Rows carry the chunk text and its metadata (JSON) so `where` filters apply to lexical
hits with the same semantics as Chroma's (`retrieval.filters.matches`).
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from retrieval.filters import matches
from retrieval.models import Document, Metadata
from retrieval.sqlite_wal import is_locked, wal_backoff

# Recorded in each collection's metadata: a change here means a `reindex`.
LEXICAL_ID = "sqlite-fts5/porter-unicode61/v1"
_TOKENIZE = "porter unicode61 remove_diacritics 2"
WORD = re.compile(r"[^\W_]+", re.UNICODE)
"""A word: letters and digits (any script); what both the index and the extractive model count."""
# Words that match nearly every chunk add cost and no signal to an OR query.
STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "can",
        "do",
        "does",
        "for",
        "from",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "so",
        "that",
        "the",
        "their",
        "then",
        "there",
        "these",
        "this",
        "to",
        "was",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "you",
        "your",
    ]
)
_PAGE = 200


def query_terms(text: str) -> list[str]:
    """The words of `text` as FTS5 tokenises them, without stop words, deduplicated."""
    words = [w.lower() for w in WORD.findall(text)]
    kept = [w for w in words if w not in STOP_WORDS] or words
    return list(dict.fromkeys(kept))


@dataclass(frozen=True)
class LexicalHit:
    """One BM25 match: the chunk id and its score (higher is better)."""

    id: str
    score: float


class LexicalIndex(Protocol):
    """The lexical half of hybrid search for one collection; rows keyed by the chunk ids.

    Implementations: `SqliteLexicalIndex` (FTS5 BM25; one host) and
    `retrieval.lexical_postgres.PostgresLexicalIndex` (Postgres full-text; any number of hosts).
    """

    def upsert(self, docs: Sequence[Document]) -> None: ...
    def delete(self, ids: Iterable[str]) -> None: ...
    def count(self) -> int: ...
    def ids(self) -> set[str]: ...
    def drop(self) -> None: ...
    def search(self, text: str, limit: int, where: dict[str, Any] | None = None) -> list[LexicalHit]: ...
    def texts(self, ids: Sequence[str]) -> dict[str, str]: ...


@dataclass(frozen=True)
class LexicalStore:
    """Where a memory's lexical indexes live: what collections record, and how to open one.

    Attributes:
        record: the id each collection records (a different one means a `reindex`).
        open: the index of one collection, from its stable key (the Chroma collection id).
    """

    record: str
    open: Callable[[str], LexicalIndex]


def sqlite_store(path: Path) -> LexicalStore:
    """Lexical indexes in one SQLite file (local mode's folder, or a file an HTTP deployment shares)."""
    return LexicalStore(LEXICAL_ID, lambda key: SqliteLexicalIndex(path, key))


class SqliteLexicalIndex:
    """The FTS5 tables of one collection in a shared SQLite file (or this process's memory).

    Args:
        path: the SQLite file; None keeps the index in this process (memory mode).
        key: the collection's stable key (its Chroma id, or its name in memory mode).
    """

    def __init__(self, path: Path | None, key: str) -> None:
        self._db = _connection(path)
        tag = hashlib.sha256(key.encode()).hexdigest()[:16]
        self._docs, self._fts = f"docs_{tag}", f"fts_{tag}"
        with self._db.lock, self._db.conn:
            self._db.conn.executescript(_schema(self._docs, self._fts))

    def upsert(self, docs: Sequence[Document]) -> None:
        """Insert or replace rows by id, in one transaction (all of them or none)."""
        rows = [(d.id, d.text, json.dumps(d.metadata, sort_keys=True)) for d in docs]
        with self._db.lock, self._db.conn:
            self._db.conn.executemany(
                f"INSERT INTO {self._docs}(id, text, meta) VALUES (?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET text = excluded.text, meta = excluded.meta",
                rows,
            )

    def delete(self, ids: Iterable[str]) -> None:
        """Delete rows by id; unknown ids are ignored."""
        with self._db.lock, self._db.conn:
            self._db.conn.executemany(f"DELETE FROM {self._docs} WHERE id = ?", [(i,) for i in ids])

    def count(self) -> int:
        with self._db.lock:
            return int(self._db.conn.execute(f"SELECT count(*) FROM {self._docs}").fetchone()[0])

    def ids(self) -> set[str]:
        with self._db.lock:
            return {r[0] for r in self._db.conn.execute(f"SELECT id FROM {self._docs}")}

    def drop(self) -> None:
        """Remove this collection's tables (the collection itself was deleted)."""
        with self._db.lock, self._db.conn:
            self._db.conn.executescript(f"DROP TABLE IF EXISTS {self._fts}; DROP TABLE IF EXISTS {self._docs};")

    def search(self, text: str, limit: int, where: dict[str, Any] | None = None) -> list[LexicalHit]:
        """The best `limit` BM25 matches of any query word that pass the (normalised) filter.

        Without a filter SQLite stops at `limit`; with one, matches are read page by page
        until `limit` of them pass, so a selective filter never hides a relevant chunk.
        """
        terms = query_terms(text)
        if not terms:
            return []
        match = " OR ".join(f'"{t}"' for t in terms)
        # Rank inside a subquery, then join: SQLite would otherwise read every matching
        # row's id and metadata before sorting (a third of the query's time at 10k chunks).
        sql = (
            f"SELECT d.id, d.meta, m.rank FROM (SELECT rowid, bm25({self._fts}) AS rank FROM {self._fts} "
            f"WHERE {self._fts} MATCH ? ORDER BY rank LIMIT ? OFFSET ?) m "
            f"JOIN {self._docs} d ON d.rowid = m.rowid ORDER BY m.rank"
        )
        hits: list[LexicalHit] = []
        offset, page = 0, limit if where is None else max(limit * 4, _PAGE)
        with self._db.lock:
            while len(hits) < limit:
                rows = self._db.conn.execute(sql, (match, page, offset)).fetchall()
                for doc_id, meta, rank in rows:
                    if where is None or matches(_meta(meta), where):
                        hits.append(LexicalHit(doc_id, -float(rank)))
                if len(rows) < page:
                    break
                offset += page
        return hits[:limit]

    def texts(self, ids: Sequence[str]) -> dict[str, str]:
        """The stored text of each of `ids` that has a row."""
        out: dict[str, str] = {}
        with self._db.lock:
            for start in range(0, len(ids), 500):
                part = list(ids[start : start + 500])
                sql = f"SELECT id, text FROM {self._docs} WHERE id IN ({','.join('?' * len(part))})"
                out.update(self._db.conn.execute(sql, part).fetchall())
        return out


def _meta(raw: str) -> Metadata:
    value = json.loads(raw)
    return value if isinstance(value, dict) else {}


def _schema(docs: str, fts: str) -> str:
    # External-content FTS5: the text lives once, in `docs`; triggers keep the index in step.
    return f"""
        CREATE TABLE IF NOT EXISTS {docs}(rowid INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL, text TEXT, meta TEXT);
        CREATE VIRTUAL TABLE IF NOT EXISTS {fts} USING fts5(
            text, content='{docs}', content_rowid='rowid', tokenize='{_TOKENIZE}');
        CREATE TRIGGER IF NOT EXISTS {docs}_ai AFTER INSERT ON {docs} BEGIN
            INSERT INTO {fts}(rowid, text) VALUES (new.rowid, new.text);
        END;
        CREATE TRIGGER IF NOT EXISTS {docs}_ad AFTER DELETE ON {docs} BEGIN
            INSERT INTO {fts}({fts}, rowid, text) VALUES ('delete', old.rowid, old.text);
        END;
        CREATE TRIGGER IF NOT EXISTS {docs}_au AFTER UPDATE OF text ON {docs} BEGIN
            INSERT INTO {fts}({fts}, rowid, text) VALUES ('delete', old.rowid, old.text);
            INSERT INTO {fts}(rowid, text) VALUES (new.rowid, new.text);
        END;
    """


@dataclass
class _Db:
    conn: sqlite3.Connection
    lock: threading.Lock


_DBS: dict[str, _Db] = {}
_DBS_LOCK = threading.Lock()


def _connection(path: Path | None) -> _Db:
    """One connection per file per process, shared by its collections and serialised by a lock."""
    key = str(path.expanduser().resolve()) if path is not None else ":memory:"
    with _DBS_LOCK:
        db = _DBS.get(key)
        if db is None:
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(key, check_same_thread=False, timeout=_BUSY_TIMEOUT_S)
            if path is not None:
                # WAL lets readers in other processes run while one writes; NORMAL is
                # durable across process crashes (only a power loss can drop the last commit).
                _to_wal(conn)
                conn.execute("PRAGMA synchronous=NORMAL")
            db = _DBS[key] = _Db(conn, threading.Lock())
        return db


_BUSY_TIMEOUT_S = 30.0


def _to_wal(conn: sqlite3.Connection, busy_timeout_s: float = _BUSY_TIMEOUT_S) -> None:
    """Switch to WAL, retried while another process switches the same new file (`retrieval.sqlite_wal`);
    past the busy timeout, or on any other error, the error is raised as it is."""
    waits = wal_backoff(busy_timeout_s)
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            delay = next(waits, None) if is_locked(exc) else None
            if delay is None:
                raise
        time.sleep(delay)
