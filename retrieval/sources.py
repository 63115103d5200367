"""Resolve ingest source strings (paths, `pkgdocs:`, URLs) into documents to chunk."""

from __future__ import annotations

import errno
import os
import stat
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from retrieval import pkgdocs
from retrieval.errors import (
    CorpusTooLargeError,
    NetworkUnavailableError,
    NotARegularFileError,
    SourceError,
    SourceNotFoundError,
)
from retrieval.models import SkippedFile
from retrieval.pkgdocs import TextDocument
from retrieval.readers import SUPPORTED_SUFFIXES, UnreadableError, read_document
from retrieval.settings import MemorySettings

_SKIP_DIRS = frozenset({".git", ".hg", ".svn", ".venv", "venv", "node_modules", "__pycache__"})


def check_sources(sources: list[str], max_file_bytes: int | None = None) -> None:
    """Fail before indexing anything when a source cannot exist or cannot be read safely.

    Args:
        max_file_bytes: refuse a file source larger than this (None: no size check here;
            ingest skips oversized files inside folders anyway).

    Raises:
        SourceNotFoundError: a path that does not exist.
        NotARegularFileError: a FIFO, device, socket or symlink loop (reading could hang).
        CorpusTooLargeError: a file source over `max_file_bytes`.
        UnknownPackageError: a `pkgdocs:` package that is not installed (or none named).
    """
    for spec in sources:
        if spec.startswith(pkgdocs.PREFIX):
            pkgdocs.parse_names(spec)
        elif not _is_url(spec):
            _check_path(spec, max_file_bytes)


def _check_path(spec: str, max_file_bytes: int | None) -> None:
    path = Path(spec).expanduser()
    try:
        info = path.stat()
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise NotARegularFileError(f"{spec!r} is a symlink loop; point it at a file or folder.") from None
        if path.is_symlink():
            raise SourceNotFoundError(f"{spec!r} is a broken symlink (to {os.readlink(path)!r}).") from None
        raise SourceNotFoundError(
            f"{spec!r} does not exist. Give a file or folder path, pkgdocs:PACKAGE[,PACKAGE...], or an http(s) URL."
        ) from None
    if stat.S_ISDIR(info.st_mode):
        return
    if not stat.S_ISREG(info.st_mode):
        raise NotARegularFileError(
            f"{spec!r} is a {_kind(info.st_mode)}, not a regular file or folder; ingest reads regular files only "
            "(a pipe or device could block or never end)."
        )
    if max_file_bytes is not None and info.st_size > max_file_bytes:
        raise CorpusTooLargeError(
            f"{spec!r} is {info.st_size} bytes, over the {max_file_bytes}-byte cap "
            "(DURABLE_RESEARCH_MEMORY_MAX_FILE_BYTES); split it or raise the cap."
        )


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "FIFO (named pipe)"), (stat.S_ISCHR, "character device"),
                       (stat.S_ISBLK, "block device"), (stat.S_ISSOCK, "socket")):  # fmt: skip
        if test(mode):
            return name
    return "special file"


_SNIFF_BYTES = 8192
_SNIFF_FILES = 10_000  # a folder of that many unreadable files is refused without reading further


def has_readable_document(sources: list[str]) -> bool:
    """Whether the local sources hold at least one document ingest could read, checked cheaply.

    A file counts when its type is supported (or it was named explicitly), it is a regular,
    non-empty file and its first bytes are not binary; only those bytes are read. `pkgdocs:`
    packages, URLs and `manifest:` files are taken as readable (their own checks run at ingest).
    So a corpus of only images, or an empty folder, is refused before a job that can only fail
    starts.
    """
    seen = 0
    for spec in sources:
        if spec.startswith((pkgdocs.PREFIX, "manifest:")) or _is_url(spec):
            return True
        path = Path(spec).expanduser()
        for file in _walk(path) if path.is_dir() else iter([path]):
            seen += 1
            if seen > _SNIFF_FILES:
                return False
            if _looks_readable(file, explicit=not path.is_dir()):
                return True
    return False


def _looks_readable(path: Path, *, explicit: bool) -> bool:
    if not explicit and path.suffix.lower() not in SUPPORTED_SUFFIXES and path.suffix:
        return False
    try:
        if not path.is_file() or path.stat().st_size == 0:
            return False
        with path.open("rb") as handle:
            head = handle.read(_SNIFF_BYTES)
    except OSError:
        return False
    return path.suffix.lower() == ".pdf" or (b"\x00" not in head and bool(head.strip()))


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
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            return SkippedFile(path=name, reason=f"not a regular file ({_kind(info.st_mode)})")
        if info.st_size > max_bytes:
            return SkippedFile(path=name, reason=f"too large ({info.st_size} bytes > {max_bytes})")
        # Bounded even if the file grows while we read it (or reports a size of 0, as /proc does).
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
        if len(data) > max_bytes:
            return SkippedFile(path=name, reason=f"too large (over {max_bytes} bytes while reading)")
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
