"""The lexical index in PostgreSQL: hybrid search for a memory served to workers on several hosts.

The SQLite index needs one host (or one shared volume): its file is opened by every
process. A deployment whose workers run on several machines already has a Postgres
(resume-mode checkpoints, Temporal itself); this keeps each collection's lexical rows
there, in one table per collection with a generated ``tsvector`` column and a GIN
index. Ranking is BM25-shaped: each query word's ``ts_rank`` (term frequency, normalised
by document length) weighted by the word's idf, counted through the GIN index. Rows are keyed by the chunk
ids like every other index, so ingest, delete and reindex keep it in step with Chroma.

Needs the ``postgres`` extra (psycopg). Connections are one per URL per process,
serialised by a lock, like the SQLite index's.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import math
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from retrieval.errors import MemoryConfigError, StoreUnavailableError
from retrieval.filters import matches
from retrieval.lexical import LexicalHit, LexicalStore, query_terms
from retrieval.models import Document, Metadata

# Recorded in each collection's metadata: a change here means a `reindex`.
POSTGRES_LEXICAL_ID = "postgres-fts/english/v1"
_CONFIG = "english"  # Postgres's Snowball English stemmer and stop words
_PAGE = 200


def postgres_store(url: str) -> LexicalStore:
    """Lexical indexes in the Postgres database at `url` (postgresql://user@host:port/db).

    Connects now, so an unreachable database is an error before any collection is created.
    """
    _connection(url)
    return LexicalStore(POSTGRES_LEXICAL_ID, lambda key: PostgresLexicalIndex(url, key))


class PostgresLexicalIndex:
    """One collection's table of chunk rows with a full-text index.

    Args:
        url: the database.
        key: the collection's stable key (its Chroma id).

    Raises:
        MemoryConfigError: psycopg is not installed.
        StoreUnavailableError: the database does not answer.
    """

    def __init__(self, url: str, key: str) -> None:
        self._db = _connection(url)
        self._table = f"lexical_{hashlib.sha256(key.encode()).hexdigest()[:16]}"
        with self._db.lock, self._db.conn.transaction():
            # CREATE ... IF NOT EXISTS still races between two processes: serialise it.
            self._db.conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (self._table,))
            self._db.conn.execute(
                f"CREATE TABLE IF NOT EXISTS {self._table} (id text PRIMARY KEY, text text NOT NULL, "
                f"meta jsonb NOT NULL, tsv tsvector GENERATED ALWAYS AS (to_tsvector('{_CONFIG}', text)) STORED)"
            )
            self._db.conn.execute(f"CREATE INDEX IF NOT EXISTS {self._table}_tsv ON {self._table} USING gin (tsv)")

    def upsert(self, docs: Sequence[Document]) -> None:
        """Insert or replace rows by id, in one transaction (all of them or none)."""
        rows = [(d.id, d.text, json.dumps(d.metadata, sort_keys=True)) for d in docs]
        with self._db.lock, self._db.conn.transaction(), self._db.conn.cursor() as cur:
            cur.executemany(
                f"INSERT INTO {self._table} (id, text, meta) VALUES (%s, %s, %s) "
                "ON CONFLICT (id) DO UPDATE SET text = excluded.text, meta = excluded.meta",
                rows,
            )

    def delete(self, ids: Iterable[str]) -> None:
        """Delete rows by id; unknown ids are ignored."""
        with self._db.lock, self._db.conn.transaction():
            self._db.conn.execute(f"DELETE FROM {self._table} WHERE id = ANY(%s)", (list(ids),))

    def count(self) -> int:
        with self._db.lock, self._db.conn.transaction():
            row = self._db.conn.execute(f"SELECT count(*) FROM {self._table}").fetchone()
        return int(row[0]) if row else 0

    def ids(self) -> set[str]:
        with self._db.lock, self._db.conn.transaction():
            return {r[0] for r in self._db.conn.execute(f"SELECT id FROM {self._table}")}

    def drop(self) -> None:
        """Remove this collection's table (the collection itself was deleted)."""
        with self._db.lock, self._db.conn.transaction():
            self._db.conn.execute(f"DROP TABLE IF EXISTS {self._table}")

    def search(self, text: str, limit: int, where: dict[str, Any] | None = None) -> list[LexicalHit]:
        """The best `limit` matches of any query word that pass the (normalised) filter.

        Filters apply in Python, with Chroma's semantics (`retrieval.filters.matches`), page
        by page until `limit` rows pass, as the SQLite index does.
        """
        terms = query_terms(text)
        if not terms:
            return []
        hits: list[LexicalHit] = []
        offset, page = 0, limit if where is None else max(limit * 4, _PAGE)
        with self._db.lock, self._db.conn.transaction():
            weights = self._idf(terms)
            if not weights:
                return []
            # score = sum over the query's words of idf(word) * ts_rank(row, word): ts_rank alone
            # has no idf, so a rare identifier would count no more than a word every chunk has.
            # Words are letters and digits only: they cannot be read as tsquery operators.
            score = " + ".join(f"%s * ts_rank(tsv, to_tsquery('{_CONFIG}', %s), 1)" for _ in weights)
            sql = (
                f"SELECT id, meta, {score} AS rank FROM {self._table} WHERE tsv @@ to_tsquery('{_CONFIG}', %s) "
                "ORDER BY rank DESC, id LIMIT %s OFFSET %s"
            )
            head = [v for term, idf in weights.items() for v in (idf, term)]
            either = " | ".join(weights)
            while len(hits) < limit:
                rows = self._db.conn.execute(sql, (*head, either, page, offset)).fetchall()
                for doc_id, meta, rank in rows:
                    if where is None or matches(_meta(meta), where):
                        hits.append(LexicalHit(doc_id, float(rank)))
                if len(rows) < page:
                    break
                offset += page
        return hits[:limit]

    def _idf(self, terms: list[str]) -> dict[str, float]:
        """BM25's idf of each word that is not a Postgres stop word, from counts the GIN index answers."""
        counts = ", ".join(
            f"(SELECT count(*) FROM {self._table} WHERE tsv @@ to_tsquery('{_CONFIG}', %s)), "
            f"numnode(to_tsquery('{_CONFIG}', %s))"
            for _ in terms
        )
        row = self._db.conn.execute(
            f"SELECT (SELECT count(*) FROM {self._table}), {counts}", [t for t in terms for _ in (0, 1)]
        ).fetchone()
        total, rest = int(row[0]), row[1:]
        out: dict[str, float] = {}
        for index, term in enumerate(terms):
            matched, nodes = int(rest[2 * index]), int(rest[2 * index + 1])
            if nodes and matched:
                out[term] = math.log(1 + (total - matched + 0.5) / (matched + 0.5))
        return out

    def texts(self, ids: Sequence[str]) -> dict[str, str]:
        """The stored text of each of `ids` that has a row."""
        with self._db.lock, self._db.conn.transaction():
            rows = self._db.conn.execute(f"SELECT id, text FROM {self._table} WHERE id = ANY(%s)", (list(ids),))
            return {r[0]: r[1] for r in rows}


def _meta(raw: Any) -> Metadata:
    value = json.loads(raw) if isinstance(raw, str) else raw  # psycopg decodes jsonb already
    return value if isinstance(value, dict) else {}


@dataclass
class _Db:
    conn: Any  # psycopg.Connection; typed loosely so the module imports without the extra
    lock: threading.Lock


_DBS: dict[str, _Db] = {}
_DBS_LOCK = threading.Lock()


def _connection(url: str) -> _Db:
    try:
        import psycopg
    except ImportError:
        raise MemoryConfigError(
            "DURABLE_RESEARCH_MEMORY_LEXICAL=postgres needs psycopg: pip install 'durable-research[postgres]'."
        ) from None
    with _DBS_LOCK:
        db = _DBS.get(url)
        if db is None or db.conn.closed:
            try:
                conn = psycopg.connect(url, autocommit=True, connect_timeout=10)
            except psycopg.OperationalError as exc:
                raise StoreUnavailableError(
                    f"The lexical index's Postgres at {_redacted(url)} does not answer: {exc}".strip()
                ) from exc
            db = _DBS[url] = _Db(conn, threading.Lock())
            atexit.register(conn.close)
        return db


def _redacted(url: str) -> str:
    """The URL without its password, for messages."""
    scheme, sep, rest = url.partition("://")
    if "@" not in rest:
        return url
    credentials, _, host = rest.rpartition("@")
    return f"{scheme}{sep}{credentials.split(':', 1)[0]}@{host}"
