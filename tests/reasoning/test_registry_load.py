"""Registry loading from "module:attr" paths and entry points, and the errors for bad paths."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from reasoning import GraphLoadError, GraphRegistry

_MODULE = """
from langgraph.graph import END, START, StateGraph
from typing_extensions import TypedDict

from reasoning import GraphSpec, PlannerInput, PlannerOutput, GraphRegistry

mine = GraphRegistry()


class S(TypedDict, total=False):
    question: str


def build():
    g = StateGraph(S)
    g.add_node("only", lambda s: {})
    g.add_edge(START, "only")
    g.add_edge("only", END)
    return g


@mine.register("decorated", "3", input_model=PlannerInput, output_model=PlannerOutput)
def make_decorated():
    return build()


SPEC = GraphSpec("plain", "1", build, PlannerInput, PlannerOutput, "a plain spec")
BOTH = [SPEC, make_decorated]
NOT_A_GRAPH = 42
"""


@pytest.fixture
def user_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    name = f"user_graphs_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text(_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    return name


def test_load_decorated_factory_spec_and_list(user_module: str) -> None:
    registry = GraphRegistry()
    assert [s.key for s in registry.load(f"{user_module}:make_decorated")] == ["decorated@3"]
    assert [s.key for s in registry.load(f"{user_module}:SPEC")] == ["plain@1"]
    assert [s.key for s in registry.load(f"{user_module}:BOTH")] == ["plain@1", "decorated@3"]
    assert registry.get("plain").nodes() == ["only"]


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("no_colon_here", "not a 'module:attr' path"),
        ("definitely_missing_module_xyz:thing", "Cannot import module"),
        ("{mod}:missing", "has no attribute"),
        ("{mod}:NOT_A_GRAPH", "names a int, not a graph"),
    ],
)
def test_bad_paths_say_what_is_wrong(user_module: str, path: str, words: str) -> None:
    with pytest.raises(GraphLoadError, match=words):
        GraphRegistry().load(path.format(mod=user_module))


def test_entry_points_group_is_loaded(user_module: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dist = tmp_path / "user_graphs_pkg-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: user-graphs-pkg\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(
        textwrap.dedent(f"""
        [test_reasoning.graphs]
        mine = {user_module}:BOTH
        """)
    )
    registry = GraphRegistry()
    loaded = registry.load_entry_points("test_reasoning.graphs")
    assert sorted(s.key for s in loaded) == ["decorated@3", "plain@1"]
    assert registry.load_entry_points("test_reasoning.nothing_here") == []
