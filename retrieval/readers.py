"""Turn one file's bytes into text: plain text, Markdown, reStructuredText, HTML, PDF."""

from __future__ import annotations

import io
from html.parser import HTMLParser
from pathlib import PurePath

TEXT_SUFFIXES = frozenset({".md", ".markdown", ".txt", ".rst", ".text"})
HTML_SUFFIXES = frozenset({".html", ".htm"})
PDF_SUFFIXES = frozenset({".pdf"})
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | PDF_SUFFIXES


class UnreadableError(Exception):
    """The bytes are not a document this package can read; the message says why."""


def decode_text(data: bytes, name: str) -> tuple[str, list[str]]:
    """Decode UTF-8, replacing undecodable bytes and saying so (never silently).

    Raises:
        UnreadableError: the bytes look binary (NUL bytes).
    """
    if b"\x00" in data[:8192]:
        raise UnreadableError("binary content (NUL bytes); not a text document")
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        text = data.decode("utf-8", errors="replace")
        bad = text.count("\ufffd")
        return text, [
            f"{name}: not valid UTF-8 (first bad byte at offset {exc.start}); "
            f"{bad} undecodable byte(s) replaced with U+FFFD"
        ]


def read_document(data: bytes, name: str, content_type: str = "") -> tuple[str, str, list[str]]:
    """Return ``(title, text, warnings)`` for a file or a fetched URL.

    Raises:
        UnreadableError: binary data, or a PDF that cannot be parsed.
    """
    suffix = PurePath(name.split("?")[0]).suffix.lower()
    if suffix in PDF_SUFFIXES or "application/pdf" in content_type:
        return _read_pdf(data, name)
    text, warnings = decode_text(data, name)
    if suffix in HTML_SUFFIXES or "html" in content_type:
        title, body = html_to_text(text)
        return title or PurePath(name).name, body, warnings
    return _first_heading(text) or PurePath(name).name, text, warnings


def html_to_text(html: str) -> tuple[str, str]:
    """Visible text of an HTML page (scripts and styles dropped) and its <title>."""
    parser = _TextParser()
    parser.feed(html)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return " ".join(parser.title.split()), "\n".join(line for line in lines if line)


def _read_pdf(data: bytes, name: str) -> tuple[str, str, list[str]]:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
        title = str(reader.metadata.title or "") if reader.metadata else ""
        title = title or PurePath(name).name
    except (PyPdfError, ValueError, KeyError, TypeError) as exc:
        raise UnreadableError(f"unreadable PDF: {exc}") from exc
    return title, "\n\n".join(pages), []


def _first_heading(text: str) -> str:
    for line in text.splitlines()[:50]:
        if line.startswith("#"):
            return line.lstrip("#").strip()
    return ""


class _TextParser(HTMLParser):
    _SKIP = frozenset({"script", "style", "noscript", "template"})
    _BLOCK = frozenset({"p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "pre"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title = ""
        self._stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._stack.append(tag)
        if tag in self._BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._stack:
            while self._stack and self._stack.pop() != tag:
                pass
        if tag in self._BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if "title" in self._stack:
            self.title += data
        elif not self._SKIP.intersection(self._stack):
            self.parts.append(data)
