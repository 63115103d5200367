"""Each package's error tree, drawn in its `errors.py` docstring, names every public error and is true.

Every public exception class defined anywhere in the package (found in the source, so a
class nobody imports counts too) must be drawn, under its real parent, with a ``[module]``
tag when it is defined outside `errors.py`; a drawn class must exist; the drawing must be
well formed. Classes that never leave the package (control flow caught inside it) are
listed in `INTERNAL`, each with the reason a user never meets it.
"""

from __future__ import annotations

import ast
import builtins
import importlib
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("orchestration", "reasoning", "retrieval")

INTERNAL = {
    # The batch activity catches it and analyses the documents in its own process.
    "orchestration.activities.doc_pool:PoolUnavailable",
    # The workflow catches it and ends the job as budget_exceeded.
    "orchestration.workflows.budget_gate:BudgetSpent",
    # The batch workflow catches it, compensates and fails with a non-retryable ApplicationError.
    "orchestration.workflows.batch_shards:BatchFailed",
    # The subtask step catches it and fails the subtask with the message.
    "orchestration.workflows.lifted_steps:TooManySteps",
    # fetch_url catches it and hands its message to the model as the tool's answer.
    "reasoning.tools.web_guard:Refusal",
    # Ingest turns it into a skipped file or a SourceError; the tools into a tool message.
    "retrieval.readers:UnreadableError",
}

_LINE = re.compile(r"^(?P<rails>(?:[│ ]   )*)(?:(?P<branch>[├└])── )?(?P<name>\w+)(?:\s+\[(?P<module>[\w.]+)\])?")
_ERROR_SUFFIXES = ("Error", "Exception")
_EXCEPTION_NAMES = {n for n, v in vars(builtins).items() if isinstance(v, type) and issubclass(v, BaseException)}


@dataclass
class Node:
    name: str
    parent: str | None
    module: str  # where the drawing says the class is defined
    line: str  # the drawn line, up to the name: rails and branch


def _drawn(package: str, docstring: str) -> list[Node]:
    """The nodes of the tree drawn after ``Hierarchy...::``, in drawing order."""
    block = docstring.split("::\n\n", 1)[1].split("\n\n", 1)[0]
    nodes: list[Node] = []
    stack: list[str] = []
    for text in block.splitlines():
        match = _LINE.match(text.removeprefix("    "))
        assert match, f"{package}/errors.py: cannot read the drawn line {text!r}"
        depth = len(match["rails"]) // 4 + (1 if match["branch"] else 0)
        del stack[depth:]
        module = f"{package}.{match['module']}" if match["module"] else f"{package}.errors"
        line = text[: len(text) - len(text.removeprefix("    ")) + match.start("name")]
        nodes.append(Node(match["name"], stack[-1] if stack else None, module, line))
        stack.append(match["name"])
    return nodes


def _redrawn(nodes: list[Node]) -> list[str]:
    """The rails and branches a well-formed drawing of `nodes` has, line by line."""
    children: dict[str | None, list[str]] = {}
    for node in nodes:
        children.setdefault(node.parent, []).append(node.name)
    out: dict[str, str] = {}

    def walk(name: str, rails: str) -> None:
        kids = children.get(name, [])
        for i, kid in enumerate(kids):
            last = i == len(kids) - 1
            out[kid] = rails + ("└── " if last else "├── ")
            walk(kid, rails + ("    " if last else "│   "))

    for root in children.get(None, []):
        out[root] = ""
        walk(root, "")
    return ["    " + out[node.name] for node in nodes]


def _public_errors(root: Path, package: str) -> dict[str, str]:
    """Public exception classes defined at the top of any module of `package`: name -> module.

    Read from the source: a class whose base is a builtin exception, an exception class of the
    package, or any name ending in Error or Exception (an error imported from elsewhere).
    """
    classes: list[tuple[str, str, list[str]]] = []
    for file in sorted((root / package).rglob("*.py")):
        module = ".".join(file.relative_to(root).with_suffix("").parts).removesuffix(".__init__")
        for node in ast.parse(file.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ClassDef):
                classes.append((module, node.name, [ast.unparse(b).rsplit(".", 1)[-1] for b in node.bases]))
    error_names = set(_EXCEPTION_NAMES)
    found: set[tuple[str, str]] = set()
    grew = True
    while grew:  # a subclass may come before its base in file order
        grew = False
        for module, name, bases in classes:
            if (module, name) not in found and any(b in error_names or b.endswith(_ERROR_SUFFIXES) for b in bases):
                found.add((module, name))
                error_names.add(name)
                grew = True
    internal = {q for q in INTERNAL if q.startswith(f"{package}.")}
    stale = internal - {f"{module}:{name}" for module, name in found}
    assert not stale, f"INTERNAL names classes that are not exceptions defined in {package}: {sorted(stale)}"
    public: dict[str, str] = {}
    for module, name in sorted(found):
        if not name.startswith("_") and f"{module}:{name}" not in internal:
            assert name not in public, f"two public errors named {name} in {package}: a drawing cannot tell them apart"
            public[name] = module
    return public


def _completeness_problems(root: Path, package: str, docstring: str) -> list[str]:
    drawn = {node.name: node.module for node in _drawn(package, docstring)}
    defined = _public_errors(root, package)
    problems = [f"not drawn: {defined[n]}:{n}" for n in sorted(defined.keys() - drawn.keys())]
    problems += [f"drawn but not a public error of {package}: {n}" for n in sorted(drawn.keys() - defined.keys())]
    problems += [
        f"{n} is tagged as defined in {drawn[n]} but is defined in {defined[n]}"
        for n in sorted(drawn.keys() & defined.keys())
        if drawn[n] != defined[n]
    ]
    return problems


def _docstring(package: str) -> str:
    return importlib.import_module(f"{package}.errors").__doc__ or ""


@pytest.mark.parametrize("package", PRODUCT)
def test_every_public_error_is_drawn_in_the_tree(package: str) -> None:
    problems = _completeness_problems(ROOT, package, _docstring(package))
    assert not problems, (
        f"fix the drawing in {package}/errors.py (or list a class in INTERNAL with a reason): {problems}"
    )


@pytest.mark.parametrize("package", PRODUCT)
def test_the_drawn_parents_are_the_real_base_classes(package: str) -> None:
    nodes = _drawn(package, _docstring(package))
    classes = {node.name: getattr(importlib.import_module(node.module), node.name) for node in nodes}
    drawn_classes = set(classes.values())
    for node in nodes:
        bases = classes[node.name].__bases__
        assert [b.__name__ for b in bases if b in drawn_classes] == ([node.parent] if node.parent else []), (
            f"{node.name} derives from {[b.__name__ for b in bases]}, but is drawn under {node.parent}"
        )
        if node.parent is None:
            assert bases == (Exception,), f"the base class {node.name} should derive from Exception"


@pytest.mark.parametrize("package", PRODUCT)
def test_the_tree_is_drawn_well_formed(package: str) -> None:
    nodes = _drawn(package, _docstring(package))
    assert [n.parent for n in nodes].count(None) == 1, "one base class per package"
    assert [n.line for n in nodes] == _redrawn(nodes)


_FAKE_ERRORS = '''"""Errors.

Hierarchy::

    BaseError
    ├── AError                 a
    │   └── BError             [other] b
    └── CError                 c
"""

class BaseError(Exception): ...
class AError(BaseError): ...
class CError(BaseError): ...
'''


def test_the_check_finds_an_undrawn_error_and_a_wrong_tag(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "errors.py").write_text(_FAKE_ERRORS)
    (tmp_path / "pkg" / "other.py").write_text("class BError(AError): ...\nclass NewError(CError): ...\n")
    docstring = ast.get_docstring(ast.parse(_FAKE_ERRORS), clean=False) or ""
    nodes = _drawn("pkg", docstring)
    assert [(n.name, n.parent, n.module) for n in nodes] == [
        ("BaseError", None, "pkg.errors"),
        ("AError", "BaseError", "pkg.errors"),
        ("BError", "AError", "pkg.other"),
        ("CError", "BaseError", "pkg.errors"),
    ]
    assert [n.line for n in nodes] == _redrawn(nodes)
    assert _completeness_problems(tmp_path, "pkg", docstring) == ["not drawn: pkg.other:NewError"]
    mistagged = docstring.replace("[other] b", "b")
    assert _completeness_problems(tmp_path, "pkg", mistagged) == [
        "not drawn: pkg.other:NewError",
        "BError is tagged as defined in pkg.errors but is defined in pkg.other",
    ]
    badly_drawn = _drawn("pkg", docstring.replace("└── CError", "├── CError"))
    assert [n.line for n in badly_drawn] != _redrawn(badly_drawn)
