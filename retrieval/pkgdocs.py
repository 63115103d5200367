"""The documentation of installed Python packages as a corpus: `pkgdocs:temporalio,langgraph`.

Each package gives two documents: its long description (the README shipped in its
metadata) and its module docstrings. Docstrings are read with `ast`, never by
importing, so indexing a package runs none of its code.
"""

from __future__ import annotations

import ast
import importlib.metadata as md
import inspect
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from retrieval.errors import UnknownPackageError

PREFIX = "pkgdocs:"
_MIN_DOCSTRING = 40


@dataclass
class TextDocument:
    """One document to chunk: `key` is unique per document, `source` is what users see."""

    key: str
    source: str
    title: str
    text: str
    warnings: list[str] = field(default_factory=list)


def parse_names(spec: str) -> list[str]:
    """``pkgdocs:a,b`` -> ``["a", "b"]``, checking each is installed.

    Raises:
        UnknownPackageError: a name that is not an installed distribution.
    """
    names = [n.strip() for n in spec[len(PREFIX) :].split(",") if n.strip()]
    if not names:
        raise UnknownPackageError(f"{spec!r} names no package; write e.g. pkgdocs:temporalio.")
    for name in names:
        try:
            md.distribution(name)
        except md.PackageNotFoundError:
            raise UnknownPackageError(
                f"Package {name!r} is not installed in this environment, so it has no "
                "documentation to ingest. Check the spelling (the distribution name, as in "
                "`pip show NAME`) or install it."
            ) from None
    return names


def package_documents(name: str) -> Iterator[TextDocument]:
    """The long description and the module docstrings of one installed distribution."""
    dist = md.distribution(name)
    version = dist.version
    source = f"{PREFIX}{name}"
    description = _long_description(dist)
    if description.strip():
        yield TextDocument(
            key=f"{source}#description",
            source=source,
            title=f"{name} {version}: package description",
            text=description,
        )
    modules = "\n\n".join(_module_docstrings(dist))
    if modules.strip():
        yield TextDocument(
            key=f"{source}#modules",
            source=source,
            title=f"{name} {version}: module docstrings",
            text=modules,
        )


def _long_description(dist: md.Distribution) -> str:
    meta = dist.metadata
    payload = meta.get_payload() if hasattr(meta, "get_payload") else None  # type: ignore[attr-defined]
    if payload:
        return str(payload)
    # get_all, not [], because a missing key via [] is deprecated in newer Pythons.
    fallback = (meta.get_all("Description") or []) + (meta.get_all("Summary") or [])
    return str(fallback[0]) if fallback else ""


# Leading blank lines, comments and a BOM, then a string literal: the module docstring.
_HEAD = re.compile(
    rb"\A(?:\xef\xbb\xbf)?(?:[ \t]*(?:#[^\n]*)?\r?\n)*[ \t]*([rRuU]?)(\"\"\"|\'\'\'|\"|\')(.*?)(?<!\\)\2", re.S
)


def module_docstring(source: bytes) -> str | None:
    """The docstring of a module's source, as `ast.get_docstring` returns it, without parsing the module.

    Parsing every module of a large package (temporalio: ~300 files) took 9 of the 10
    seconds of a `pkgdocs:` ingest; only the leading string literal is needed.
    """
    head = _HEAD.match(source)
    if head is None:
        return None
    try:
        value = ast.literal_eval(source[head.start(1) : head.end()].decode())
    except (SyntaxError, ValueError, UnicodeDecodeError):
        return None
    return inspect.cleandoc(value) if isinstance(value, str) else None


def _module_docstrings(dist: md.Distribution) -> Iterator[str]:
    files = sorted(str(f) for f in dist.files or () if str(f).endswith(".py"))
    for rel in files:
        if "/tests/" in f"/{rel}" or "/test_" in f"/{rel}":
            continue
        try:
            doc = module_docstring(Path(str(dist.locate_file(rel))).read_bytes())
        except OSError:
            continue  # a file the wheel lists but did not install
        if doc and len(doc) >= _MIN_DOCSTRING:
            module = rel[: -len(".py")].replace("/", ".").removesuffix(".__init__")
            yield f"# {module}\n\n{doc}"
