"""Resolve ingest source strings (paths, `pkgdocs:`, URLs) into documents to chunk."""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from retrieval import pkgdocs
from retrieval.errors import NetworkUnavailableError, SourceError, SourceNotFoundError
from retrieval.models import SkippedFile
from retrieval.pkgdocs import TextDocument
from retrieval.readers import SUPPORTED_SUFFIXES, UnreadableError, read_document
from retrieval.settings import MemorySettings

_SKIP_DIRS = frozenset({".git", ".hg", ".svn", ".venv", "venv", "node_modules", "__pycache__"})


def check_sources(sources: list[str]) -> None:
    """Fail before indexing anything when a source cannot exist.

    Raises:
        SourceNotFoundError: a path that does not exist.
        UnknownPackageError: a `pkgdocs:` package that is not installed.
    """
    for spec in sources:
        if spec.startswith(pkgdocs.PREFIX):
            pkgdocs.parse_names(spec)
        elif not _is_url(spec) and not Path(spec).expanduser().exists():
            raise SourceNotFoundError(
                f"{spec!r} does not exist. Give a file or folder path, pkgdocs:PACKAGE[,PACKAGE...], or an http(s) URL."
            )


def iter_documents(spec: str, settings: MemorySettings) -> Iterator[TextDocument | SkippedFile]:
    """Yield one source's documents lazily (a folder is walked, not loaded at once)."""
    if spec.startswith(pkgdocs.PREFIX):
        for name in pkgdocs.parse_names(spec):
            yield from pkgdocs.package_documents(name)
    elif _is_url(spec):
        yield fetch_url(spec, settings.url_timeout_s)
    else:
        path = Path(spec).expanduser()
        files = _walk(path) if path.is_dir() else iter([path])
        for file in files:
            yield read_file(file, settings.max_file_bytes, explicit=not path.is_dir())


def read_file(path: Path, max_bytes: int, *, explicit: bool = True) -> TextDocument | SkippedFile:
    """One file as a document, or the reason it was skipped (binary, unreadable, too big)."""
    name = str(path)
    if not explicit and path.suffix.lower() not in SUPPORTED_SUFFIXES and path.suffix:
        return SkippedFile(path=name, reason=f"unsupported file type {path.suffix}")
    try:
        size = path.stat().st_size
        if size > max_bytes:
            return SkippedFile(path=name, reason=f"too large ({size} bytes > {max_bytes})")
        data = path.read_bytes()
        title, text, warnings = read_document(data, name)
    except OSError as exc:
        return SkippedFile(path=name, reason=f"unreadable: {exc.strerror or exc}")
    except UnreadableError as exc:
        return SkippedFile(path=name, reason=str(exc))
    return TextDocument(key=name, source=name, title=title, text=text, warnings=warnings)


def fetch_url(url: str, timeout_s: float) -> TextDocument:
    """Download one page (HTML, text or PDF).

    Raises:
        NetworkUnavailableError: DNS or connection failure (no network here).
        SourceError: the server answered with an error or unreadable content.
    """
    request = urllib.request.Request(url, headers={"User-Agent": "durable-research-ingest"})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            data = response.read()
            content_type = response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as exc:
        raise SourceError(f"{url} answered HTTP {exc.code} {exc.reason}.") from exc
    except (TimeoutError, urllib.error.URLError, ConnectionError) as exc:
        reason = getattr(exc, "reason", exc)
        raise NetworkUnavailableError(
            f"Cannot fetch {url}: {reason}. This machine seems to have no network; "
            "download the page elsewhere and ingest the file, or use pkgdocs:PACKAGE."
        ) from exc
    try:
        title, text, warnings = read_document(data, url, content_type)
    except UnreadableError as exc:
        raise SourceError(f"{url}: {exc}") from exc
    return TextDocument(key=url, source=url, title=title, text=text, warnings=warnings)


def _is_url(spec: str) -> bool:
    return spec.startswith(("http://", "https://"))


def _walk(root: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root, onerror=None):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not d.startswith("."))
        for filename in sorted(filenames):
            if not filename.startswith("."):
                yield Path(dirpath) / filename
