"""A batch's manifest: the list of its documents, written once as artifacts, read by range.

Sources are resolved at the edge before the batch starts (folders walked, `pkgdocs:`
expanded, `manifest:FILE` read line by line); history then holds only the manifest's
key and its length. Files are listed by path and read by the document activity; texts
that are not files (package documentation) are stored as artifacts and listed by key.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel, Field

from orchestration.artifacts import MANIFEST_PART, LocalArtifactStore, manifest_key, manifest_part_key
from orchestration.errors import ConfigError
from retrieval import pkgdocs
from retrieval.models import SkippedFile
from retrieval.settings import MemorySettings
from retrieval.sources import check_sources, iter_documents, read_file

MANIFEST_PREFIX = "manifest:"
"""A source `manifest:FILE` names a text file listing one document path per line."""


class ManifestEntry(BaseModel):
    index: int
    kind: str = Field(description="'file': read `ref` as a path; 'text': `ref` is an artifact key.")
    ref: str
    source: str
    title: str = ""


class ManifestSummary(BaseModel):
    key: str
    total: int
    readable: int
    problems: list[str] = Field(default_factory=list, description="The first few unreadable entries, with why.")


def write_manifest(
    store: LocalArtifactStore, job_id: str, sources: list[str], settings: MemorySettings
) -> ManifestSummary:
    """Resolve `sources` into entries and store them in parts under `jobs/<job>/manifest`.

    A manifest line that is not a readable file stays in the manifest (its document fails
    with the reason); a source list in which nothing is readable is refused.

    Raises:
        ConfigError: a source does not exist, or nothing in the sources is readable.
    """
    key = manifest_key(job_id)
    pending: list[str] = []  # lines not yet written: nothing is written before one entry is readable
    written = total = readable = 0
    problems: list[str] = []
    for entry, problem in _entries(job_id, store, sources, settings):
        entry.index = total
        pending.append(entry.model_dump_json())
        total += 1
        if problem is None:
            readable += 1
        elif len(problems) < 10:
            problems.append(f"{entry.source}: {problem}")
        while readable and len(pending) >= MANIFEST_PART:
            store.put_text(manifest_part_key(key, written), "\n".join(pending[:MANIFEST_PART]) + "\n")
            pending, written = pending[MANIFEST_PART:], written + 1
    if readable == 0:
        detail = f" ({'; '.join(problems[:3])})" if problems else ""
        raise ConfigError(f"nothing readable in the batch's sources {sources}{detail}")
    if pending:
        store.put_text(manifest_part_key(key, written), "\n".join(pending) + "\n")
    store.put_text(f"{key}/meta.json", json.dumps({"total": total, "sources": sources}))
    return ManifestSummary(key=key, total=total, readable=readable, problems=problems)


def read_range(store: LocalArtifactStore, key: str, start: int, end: int) -> list[ManifestEntry]:
    """Entries [start, end) of the manifest under `key` (one or two part files read)."""
    out: list[ManifestEntry] = []
    for part in range(start // MANIFEST_PART, (max(end, start + 1) - 1) // MANIFEST_PART + 1):
        lines = store.get_text(manifest_part_key(key, part)).splitlines()
        base = part * MANIFEST_PART
        for offset, line in enumerate(lines):
            if start <= base + offset < end and line.strip():
                out.append(ManifestEntry.model_validate_json(line))
    return out


def _entries(
    job_id: str, store: LocalArtifactStore, sources: list[str], settings: MemorySettings
) -> Iterator[tuple[ManifestEntry, str | None]]:
    for spec in sources:
        if spec.startswith(MANIFEST_PREFIX):
            yield from _listed(Path(spec[len(MANIFEST_PREFIX) :]).expanduser(), settings)
            continue
        try:
            check_sources([spec], settings.max_file_bytes)
        except Exception as exc:  # retrieval's SourceError family: what the user typed
            raise ConfigError(str(exc)) from None
        if spec.startswith(pkgdocs.PREFIX) or spec.startswith(("http://", "https://")):
            for doc in iter_documents(spec, settings):
                if not isinstance(doc, SkippedFile):
                    text_key = f"jobs/{job_id}/inputs/{hashlib.sha256(doc.key.encode()).hexdigest()[:24]}.txt"
                    store.put_text(text_key, doc.text)
                    yield ManifestEntry(index=0, kind="text", ref=text_key, source=doc.source, title=doc.title), None
            continue
        for doc in iter_documents(spec, settings):
            if not isinstance(doc, SkippedFile):
                yield ManifestEntry(index=0, kind="file", ref=str(Path(doc.source).resolve()), source=doc.source), None
            # A skipped file inside a folder (binary, unsupported type) is not a document of the batch.


def _listed(path: Path, settings: MemorySettings) -> Iterator[tuple[ManifestEntry, str | None]]:
    if not path.is_file():
        raise ConfigError(f"manifest file {str(path)!r} does not exist or is not a regular file")
    with path.open(encoding="utf-8", errors="replace") as handle:
        for raw in handle:
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            file = (path.parent / line).expanduser() if not Path(line).is_absolute() else Path(line)
            problem = _unreadable(file, settings)
            yield ManifestEntry(index=0, kind="file", ref=str(file.resolve()), source=line), problem


def _unreadable(file: Path, settings: MemorySettings) -> str | None:
    if not file.is_file():
        return "not a readable file"
    got = read_file(file, settings.max_file_bytes)
    return got.reason if isinstance(got, SkippedFile) else None
