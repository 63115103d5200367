"""Ingest sources into semantic memory: chunk, hash, embed in batches, upsert, drop stale chunks.

Idempotence comes from content-hash ids: a chunk's id is a hash of its document and
text, so re-ingesting unchanged content finds every id present and embeds nothing.
Every chunk also records `doc` (the document key) and `doc_hash` (a hash of the whole
document text). After a document's new chunks are in, chunks of the same document
with another `doc_hash` are stale and deleted, so a changed file replaces its old
chunks, and an interrupted ingest, re-run, finishes without duplicates.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_text_splitters import RecursiveCharacterTextSplitter

from retrieval.errors import CorpusTooLargeError, EmptyCorpusError, MemoryConfigError
from retrieval.models import Document, IngestProgress, IngestReport, Metadata, SkippedFile
from retrieval.pkgdocs import TextDocument
from retrieval.protocol import SemanticMemory
from retrieval.settings import MemorySettings
from retrieval.sources import check_sources, iter_documents

ProgressCallback = Callable[[IngestProgress], None]


def chunk_id(source: str, text: str) -> str:
    """Content hash of a chunk: the same text from the same source always gets the same id."""
    digest = hashlib.sha256(f"{source}\x00{text}".encode()).hexdigest()
    return f"c-{digest[:32]}"


def ingest(
    sources: Sequence[str],
    memory: SemanticMemory,
    *,
    settings: MemorySettings,
    metadata: dict[str, str] | None = None,
    progress: ProgressCallback | None = None,
) -> IngestReport:
    """Index `sources` into `memory`; safe to re-run (unchanged chunks are not re-embedded).

    Args:
        sources: paths (files or folders), ``pkgdocs:NAME[,NAME]``, or http(s) URLs.
        memory: any `SemanticMemory`.
        settings: chunk size and overlap, batch size, file size cap.
        metadata: merged into every chunk (e.g. ``{"job": job_id, "tenant": t}``); chunk
            ids are scoped by it, so two jobs ingesting one file do not share chunks.
        progress: called after every written batch.

    Raises:
        SourceNotFoundError, UnknownPackageError: before anything is indexed.
        NetworkUnavailableError: a URL source and no network.
        EmptyCorpusError: no source produced any text.
    """
    started = time.monotonic()
    if isinstance(sources, str):  # a lone string would otherwise be read letter by letter
        sources = [sources]
    if not sources:
        raise EmptyCorpusError("No sources given; pass a path, pkgdocs:PACKAGE or a URL.")
    if settings.chunk_overlap >= settings.chunk_size:
        raise MemoryConfigError(
            f"chunk_overlap ({settings.chunk_overlap}) must be smaller than chunk_size ({settings.chunk_size})."
        )
    check_sources(list(sources), settings.max_file_bytes)
    run = _Run(memory, settings, dict(metadata or {}), progress, IngestReport(sources=list(sources)))
    total = 0
    for spec in sources:
        for item in iter_documents(spec, settings):
            if isinstance(item, SkippedFile):
                run.report.skipped.append(item)
                continue
            total += len(item.text)
            if total > settings.max_corpus_bytes:
                run.flush()
                raise CorpusTooLargeError(
                    f"The sources hold more than {settings.max_corpus_bytes} characters of text (stopped at "
                    f"{item.source}); what was indexed so far stays. Ingest fewer sources or raise "
                    "DURABLE_RESEARCH_MEMORY_MAX_CORPUS_BYTES."
                )
            run.document(item)
    run.flush()
    report = run.report
    report.seconds = round(time.monotonic() - started, 3)
    if report.chunks == 0:
        skipped = "; ".join(f"{s.path}: {s.reason}" for s in report.skipped[:10])
        raise EmptyCorpusError(
            f"The sources {list(sources)} hold no text to index." + (f" Skipped: {skipped}." if skipped else "")
        )
    return report


def ingest_text(
    key: str,
    text: str,
    memory: SemanticMemory,
    *,
    settings: MemorySettings,
    title: str = "",
    metadata: dict[str, str] | None = None,
) -> list[str]:
    """Index one text that is not a file (a report, a note) exactly as `ingest` would a file:
    same chunker, content-hash ids scoped by `metadata`, stale chunks of `key` replaced.

    Returns:
        The ids of the text's chunks, in order.
    """
    run = _Run(memory, settings, dict(metadata or {}), None, IngestReport(sources=[key]))
    ids = run.document(TextDocument(key=key, source=key, title=title, text=text))
    run.flush()
    return ids


def ingest_documents(
    docs: Sequence[TextDocument],
    memory: SemanticMemory,
    *,
    settings: MemorySettings,
    metadata: dict[str, str] | None = None,
) -> list[int]:
    """Index documents already read (a batch's micro-batch) exactly as `ingest` would, their
    chunks sharing store writes; returns each document's chunk count, in order."""
    run = _Run(memory, settings, dict(metadata or {}), None, IngestReport(sources=[d.key for d in docs]))
    counts = [len(run.document(doc)) for doc in docs]
    run.flush()
    return counts


@dataclass
class _Pending:
    """A chunk waiting for the next write; `last` marks its document's final chunk."""

    doc: TextDocument
    chunk: Document
    last: bool


@dataclass
class _Run:
    """One ingest: chunks of consecutive documents are written together, `batch_size` at a time.

    Writing across document boundaries is what makes ingest fast: a vector store write
    costs a fixed ~60 ms plus its rows, and most documents are a few dozen chunks. A
    document's stale chunks are deleted in the write that stores its last chunk, so an
    interrupted ingest never loses a document's old chunks before its new ones are in.
    """

    memory: SemanticMemory
    settings: MemorySettings
    scope: dict[str, str]
    progress: ProgressCallback | None
    report: IngestReport
    pending: list[_Pending] = field(default_factory=list)

    @property
    def _scope_key(self) -> str:
        """The caller's metadata as one string: ids and stale-chunk cleanup are scoped by it."""
        return json.dumps(self.scope, sort_keys=True) if self.scope else ""

    def document(self, doc: TextDocument) -> list[str]:
        """Chunk one document and queue its chunks; full batches are written at once.

        Returns:
            The ids of the document's chunks.
        """
        self.report.warnings.extend(doc.warnings)
        chunks = self._chunks(doc)
        self.pending += [_Pending(doc, c, i == len(chunks) - 1) for i, c in enumerate(chunks)]
        size = self.settings.write_batch
        while len(self.pending) >= size:
            self._write(self.pending[:size])
            del self.pending[:size]
        return [c.id for c in chunks]

    def flush(self) -> None:
        """Write what is queued (the end of an ingest, or before it stops)."""
        if self.pending:
            self._write(self.pending)
            self.pending = []

    def _write(self, batch: list[_Pending]) -> None:
        chunks = [p.chunk for p in batch]
        present = {d.id: d for d in self.memory.get([c.id for c in chunks])}
        # A chunk whose text survived an edit keeps its id but needs fresh offsets/hash.
        todo = [c for c in chunks if c.id not in present or present[c.id].metadata != c.metadata]
        added = self.memory.upsert(todo) if todo else 0
        self.report.chunks += len(batch)
        self.report.added += added
        self.report.unchanged += len(batch) - added
        finished = [p for p in batch if p.last]
        if finished:
            self.report.replaced += self.memory.delete(where=self._stale(finished))
            self.report.files += len(finished)
        if self.progress is not None:
            self.progress(
                IngestProgress(
                    source=batch[-1].doc.source,
                    files=self.report.files,
                    chunks=self.report.chunks,
                    added=self.report.added,
                )
            )

    def _stale(self, finished: list[_Pending]) -> dict[str, Any]:
        """Chunks of the finished documents that another version of their text left behind."""
        per_doc = [
            {"$and": [{"doc": p.doc.key}, {"doc_hash": {"$ne": p.chunk.metadata["doc_hash"]}}]} for p in finished
        ]
        return {"$and": [{"scope": self._scope_key}, per_doc[0] if len(per_doc) == 1 else {"$or": per_doc}]}

    def _chunks(self, doc: TextDocument) -> list[Document]:
        splitter = RecursiveCharacterTextSplitter(
            chunk_size=self.settings.chunk_size,
            chunk_overlap=self.settings.chunk_overlap,
            add_start_index=True,
        )
        pieces = [p for p in splitter.create_documents([doc.text]) if p.page_content.strip()]
        doc_hash = hashlib.sha256(doc.text.encode()).hexdigest()[:16]
        id_scope = doc.key + self._scope_key
        out: dict[str, Document] = {}
        for index, piece in enumerate(pieces):
            start = int(piece.metadata.get("start_index", -1))
            meta: Metadata = {
                **self.scope,
                "source": doc.source,
                "doc": doc.key,
                "title": doc.title,
                "chunk": index,
                "start": start,
                "end": start + len(piece.page_content) if start >= 0 else -1,
                "doc_hash": doc_hash,
                "scope": self._scope_key,
            }
            cid = chunk_id(id_scope, piece.page_content)
            out.setdefault(cid, Document(id=cid, text=piece.page_content, metadata=meta))
        return list(out.values())
