"""Graph factories registered under a stable "name@version": by decorator, path or entry point."""

from __future__ import annotations

import builtins
import importlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from reasoning.errors import GraphFactoryError, GraphLoadError, GraphNotFoundError

if TYPE_CHECKING:
    from langgraph.graph import StateGraph

# A factory takes no argument: nodes get the retriever and model at run time through
# LangGraph's `Runtime[GraphContext]` (`context_schema`), never at build time.
GraphFactory = Callable[[], "StateGraph[Any, Any, Any, Any]"]

_SPEC_ATTR = "__graph_spec__"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class GraphSpec:
    """One registered graph: how to build it and what goes in and out.

    Attributes:
        name: stable name a job pins per subtask kind (e.g. "researcher").
        version: its version; several versions of one name coexist.
        factory: builds an uncompiled StateGraph (no argument; context arrives at run time).
        input_model: the pydantic model of the graph's input.
        output_model: the pydantic model the final state must validate as.
        description: one line for `graphs list`.
        uses_tools: its nodes call `GraphContext.tools`: a run builds them (others skip the cost).
    """

    name: str
    version: str
    factory: GraphFactory
    input_model: type[BaseModel]
    output_model: type[BaseModel]
    description: str = ""
    uses_tools: bool = False

    @property
    def key(self) -> str:
        return f"{self.name}@{self.version}"

    def build(self) -> StateGraph[Any, Any, Any, Any]:
        """Call the factory, reporting any failure with this graph's key."""
        try:
            return self.factory()
        except Exception as exc:
            raise GraphFactoryError(self.key, exc) from exc

    def nodes(self) -> list[str]:
        """The graph's node names in insertion order."""
        return list(self.build().nodes)

    def describe(self) -> dict[str, Any]:
        """A JSON-safe summary for listings."""
        return {
            "key": self.key,
            "name": self.name,
            "version": self.version,
            "description": self.description,
            "nodes": self.nodes(),
            "input": self.input_model.__name__,
            "output": self.output_model.__name__,
            "uses_tools": self.uses_tools,
        }


def _version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    # Numeric parts compare as numbers so "10" sorts after "9".
    parts = re.split(r"[.\-]", version)
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in parts)


class GraphRegistry:
    """Name@version -> GraphSpec. Re-registering a key replaces it (notebook cells re-run)."""

    def __init__(self) -> None:
        self._specs: dict[str, GraphSpec] = {}

    def register(
        self,
        name: str,
        version: str,
        *,
        input_model: type[BaseModel],
        output_model: type[BaseModel],
        description: str = "",
        uses_tools: bool = False,
    ) -> Callable[[GraphFactory], GraphFactory]:
        """Decorator: register a factory and return it unchanged (with its spec attached)."""

        def decorator(factory: GraphFactory) -> GraphFactory:
            doc = (factory.__doc__ or "").strip().splitlines()
            spec = GraphSpec(
                name=name,
                version=str(version),
                factory=factory,
                input_model=input_model,
                output_model=output_model,
                description=description or (doc[0] if doc else ""),
                uses_tools=uses_tools,
            )
            self.add(spec)
            setattr(factory, _SPEC_ATTR, spec)
            return factory

        return decorator

    def add(self, spec: GraphSpec) -> GraphSpec:
        """Register a spec; the name and version must be simple tokens."""
        for label, value in (("name", spec.name), ("version", spec.version)):
            if not _NAME.match(value):
                raise GraphLoadError(f"Graph {label} {value!r} is not valid: use letters, digits, '.', '_', '-'.")
        self._specs[spec.key] = spec
        return spec

    def get(self, key: str) -> GraphSpec:
        """Look up "name@version", or "name" alone for its highest version."""
        if "@" in key:
            spec = self._specs.get(key)
            if spec is None:
                raise GraphNotFoundError(key, self.keys())
            return spec
        versions = [s for s in self._specs.values() if s.name == key]
        if not versions:
            raise GraphNotFoundError(key, self.keys())
        return max(versions, key=lambda s: _version_key(s.version))

    def unregister(self, key: str) -> GraphSpec:
        """Remove "name@version" (e.g. a notebook's experiment); unknown keys raise."""
        if key not in self._specs:
            raise GraphNotFoundError(key, self.keys())
        return self._specs.pop(key)

    def keys(self) -> list[str]:
        return sorted(self._specs)

    def list(self) -> list[GraphSpec]:
        """All specs, sorted by name then version."""
        return sorted(self._specs.values(), key=lambda s: (s.name, _version_key(s.version)))

    def __contains__(self, key: object) -> bool:
        return key in self._specs

    def load(self, path: str) -> builtins.list[GraphSpec]:
        """Import "module:attr" and register what it names.

        The attribute may be a factory registered with a decorator, a GraphSpec, or a list
        (or tuple) of either.
        """
        return [self.add(_as_spec(item, path)) for item in import_items(path, GraphLoadError, "my_graphs:make_graph")]

    def load_entry_points(self, group: str = "durable_research.graphs") -> builtins.list[GraphSpec]:
        """Register every graph named by installed packages' entry points in `group`."""
        loaded: builtins.list[GraphSpec] = []
        for ep in entry_points(group=group):
            loaded.extend(self.load(ep.value))
        return loaded


def import_items(path: str, error: type[Exception], example: str) -> builtins.list[Any]:
    """What a "module:attr" path names (a list or tuple as its items); `error` says what went wrong.

    The graph and tool registries load `--graphs`/`--tools` paths and entry points with it.
    """
    module_name, sep, attr = path.partition(":")
    if not sep or not module_name or not attr:
        raise error(f"{path!r} is not a 'module:attr' path, e.g. '{example}'.")
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise error(f"Cannot import module {module_name!r} from {path!r}: {exc}") from exc
    for part in attr.split("."):
        if not hasattr(target, part):
            raise error(f"Module {module_name!r} has no attribute {attr!r} ({path!r}).")
        target = getattr(target, part)
    items: Iterable[Any] = target if isinstance(target, list | tuple) else [target]
    return list(items)


def _as_spec(item: Any, path: str) -> GraphSpec:
    if isinstance(item, GraphSpec):
        return item
    spec = getattr(item, _SPEC_ATTR, None)
    if isinstance(spec, GraphSpec):
        return spec
    raise GraphLoadError(
        f"{path!r} names a {type(item).__name__}, not a graph. Point it at a GraphSpec, a factory "
        "decorated with @register_graph(...), or a list of them."
    )


default_registry = GraphRegistry()
register_graph = default_registry.register
