"""Patch ids have one home, orchestration/workflows/patches.py, and committed histories record them."""

from __future__ import annotations

import ast
import base64
import json
from pathlib import Path

import pytest

from orchestration.workflows import patches

ROOT = Path(__file__).resolve().parents[4]
HISTORIES = ROOT / "tests" / "histories"
WORKFLOWS = ROOT / "orchestration" / "workflows"
PATCHES_FILE = WORKFLOWS / "patches.py"

IDS = {name: value for name, value in vars(patches).items() if name.isupper() and isinstance(value, str)}


def _recorded_ids() -> set[str]:
    """The ids in every committed history's patch markers (`core_patch`, details `patch-data`)."""
    found: set[str] = set()
    for path in HISTORIES.rglob("*.json"):
        for event in json.loads(path.read_text(encoding="utf-8"))["events"]:
            marker = event.get("markerRecordedEventAttributes")
            if marker is None or marker.get("markerName") != "core_patch":
                continue
            for payload in marker["details"]["patch-data"]["payloads"]:
                found.add(json.loads(base64.b64decode(payload["data"]))["id"])
    return found


def _trees(root: Path) -> dict[Path, ast.Module]:
    return {path: ast.parse(path.read_text(encoding="utf-8")) for path in sorted(root.rglob("*.py"))}


def _is_patch_call(node: ast.Call) -> bool:
    func = node.func
    return isinstance(func, ast.Attribute) and func.attr in ("patched", "deprecate_patch")


def test_ids_are_unique_and_named_after_themselves() -> None:
    assert len(set(IDS.values())) == len(IDS), IDS
    assert {name: value.upper().replace("-", "_") for name, value in IDS.items()} == {name: name for name in IDS}


@pytest.mark.parametrize("patch_id", sorted(IDS.values()))
def test_a_committed_history_records_the_id(patch_id: str) -> None:
    assert patch_id in _recorded_ids()


def test_every_recorded_id_is_declared() -> None:
    assert _recorded_ids() <= set(IDS.values())


def test_patched_calls_name_a_constant_of_the_module() -> None:
    asked: set[str] = set()
    for path, tree in _trees(WORKFLOWS).items():
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and _is_patch_call(node)):
                continue
            (arg,) = node.args
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            assert isinstance(arg, ast.Attribute) and isinstance(arg.value, ast.Name), where
            assert arg.value.id == "patches" and arg.attr in IDS, where
            asked.add(arg.attr)
    assert asked == set(IDS)  # and every id is still asked somewhere


def test_no_id_is_written_outside_its_module() -> None:
    ids = set(IDS.values())
    found = [
        f"{path.relative_to(ROOT)}:{node.lineno} {node.value!r}"
        for path, tree in _trees(ROOT / "orchestration").items()
        if path != PATCHES_FILE
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and node.value in ids
    ]
    assert found == []
