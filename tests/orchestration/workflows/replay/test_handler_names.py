"""Update, query and signal names have one home, orchestration/shared/names.py, on both sides of the wire."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
from temporalio import workflow

from orchestration.shared import names
from orchestration.workflows import WORKFLOWS

ROOT = Path(__file__).resolve().parents[4]
ORCHESTRATION = ROOT / "orchestration"
HISTORIES = ROOT / "tests" / "histories"
KINDS = ("update", "query", "signal")

# `names` holds each kind's constants under a suffix: APPROVE_UPDATE, PROGRESS_QUERY, CONTROL_SIGNAL.
DECLARED_IN_NAMES = {
    kind: {value for name, value in vars(names).items() if name.endswith(f"_{kind.upper()}")} for kind in KINDS
}
HANDLER_NAMES = set().union(*DECLARED_IN_NAMES.values())

# Modules that only talk to workflows: no string in them may be a handler name. Elsewhere
# (the edge, the workflows) "approve" is also a CLI verb, an MCP tool or a decision's action.
CALLERS = ("client.py", "batch_client.py", "job_stream.py")
# The SDK's own handlers (workflow streams, the UI's metadata): named by the SDK, not by us.
SDK_PREFIX = "__temporal"


def _declared_on_workflows() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {kind: set() for kind in KINDS}
    for cls in WORKFLOWS:
        definition = workflow._Definition.from_class(cls)
        assert definition is not None, cls
        found["update"] |= set(definition.updates)
        found["query"] |= set(definition.queries)
        found["signal"] |= set(definition.signals)
    return found


def _trees() -> dict[Path, ast.Module]:
    return {path: ast.parse(path.read_text(encoding="utf-8")) for path in sorted(ORCHESTRATION.rglob("*.py"))}


def _where(path: Path, node: ast.AST) -> str:
    return f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', '?')}"


@pytest.mark.parametrize("kind", KINDS)
def test_workflows_declare_exactly_the_names_of_names_py(kind: str) -> None:
    assert _declared_on_workflows()[kind] == DECLARED_IN_NAMES[kind]


def test_handler_decorators_take_their_name_from_names_py() -> None:
    decorators = 0
    for path, tree in _trees().items():
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            func = node.func
            if not (isinstance(func.value, ast.Name) and func.value.id == "workflow" and func.attr in KINDS):
                continue
            decorators += 1
            (name,) = [k.value for k in node.keywords if k.arg == "name"] or [None]
            assert isinstance(name, ast.Attribute) and isinstance(name.value, ast.Name), _where(path, node)
            assert name.value.id == "names" and name.attr.endswith(f"_{func.attr.upper()}"), _where(path, node)
    assert decorators >= len(HANDLER_NAMES)


def test_no_handler_name_is_written_in_a_call() -> None:
    """Everywhere: a call that sends an update, query or signal (the SDK's or a wrapper) names it from names."""
    found = []
    for path, tree in _trees().items():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            callee = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if not any(word in callee for word in KINDS):
                continue
            args = [*node.args[:1], *(k.value for k in node.keywords if k.arg in (*KINDS, "name"))]
            found += [_where(path, a) for a in args if isinstance(a, ast.Constant) and a.value in HANDLER_NAMES]
    assert found == []


@pytest.mark.parametrize("module", CALLERS)
def test_callers_write_no_handler_name(module: str) -> None:
    tree = ast.parse((ORCHESTRATION / module).read_text(encoding="utf-8"))
    found = [
        _where(ORCHESTRATION / module, node)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and node.value in HANDLER_NAMES
    ]
    assert found == []


def test_names_in_committed_histories_are_still_declared() -> None:
    """A renamed handler would leave running jobs (and these histories) sending a name no workflow takes."""
    sent: set[str] = set()
    for path in HISTORIES.rglob("*.json"):
        for event in json.loads(path.read_text(encoding="utf-8"))["events"]:
            update = event.get("workflowExecutionUpdateAcceptedEventAttributes")
            signal = event.get("workflowExecutionSignaledEventAttributes")
            if update is not None:
                sent.add(update["acceptedRequest"]["input"]["name"])
            if signal is not None:
                sent.add(signal["signalName"])
    ours = {name for name in sent if not name.startswith(SDK_PREFIX)}
    assert ours and ours <= HANDLER_NAMES
