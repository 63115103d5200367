"""What a tool is to this project: a LangChain tool built at run time from the graph's context.

A tool is registered like a graph (`@register_tool`, a `durable_research.tools` entry-point
group, `ToolRegistry.load("module:attr")`): a factory that takes a `ToolContext` (the run's
retriever, model, settings and where fetched documents go) and returns a LangChain `BaseTool`.
Nothing is bound at import time, so one registry serves every job and worker.

How durable a tool is, and who may run it, is part of its spec:

* ``durable="inline"`` (default): it runs inside the graph activity; its result goes through the
  call log, so after a crash a finished call is served from the log, never run again.
* ``durable="activity"``: slow, rate-limited or side-effecting work. The graph stops at the call
  (a LangGraph interrupt) and the workflow runs the tool as an activity of its own (own retries,
  timeouts, heartbeats, visible in the Temporal UI), then continues the graph with its result.
* ``durable="human"``: the call is a question to a person; the workflow waits for the answer.

``side_effects=True`` marks a tool that changes something outside the job (sends, writes,
buys): a job may use it only where its spec names it for that subtask kind, so text a tool
read (a web page) can never make the model run it elsewhere.
"""

from __future__ import annotations

import builtins
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Literal, Protocol

from langchain_core.language_models import BaseChatModel
from langchain_core.tools import BaseTool
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from reasoning.context import Retriever
from reasoning.errors import ConfigError
from reasoning.registry import import_items
from reasoning.types import Evidence

Durable = Literal["inline", "activity", "human"]
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
_SPEC_ATTR = "__tool_spec__"


class ToolSettings(BaseSettings):
    """Bounds and permissions of the built-in tools; env prefix DURABLE_RESEARCH_TOOLS_.

    Attributes:
        fetch_allow_private: let `fetch_url` reach loopback, link-local and private addresses
            (off: a page or a model could otherwise make a worker read its own network).
        fetch_max_bytes: the largest body `fetch_url` reads.
        fetch_timeout_s: connect and read timeout of one fetch.
        fetch_max_redirects: redirects followed before giving up.
        documents_root: the folder `read_document` may read files under (None: files are off,
            only the job's artifacts can be read).
        max_tool_calls: tool calls one graph run may make.
        max_tool_errors: failed tool calls (unknown tool, bad arguments, a tool that raised)
            tolerated before a run stops calling tools and answers with what it has.
        wikipedia_api_url: the MediaWiki API the `wikipedia` tool asks (None: en.wikipedia.org;
            a mirror or a test server otherwise).
    """

    model_config = SettingsConfigDict(env_prefix="DURABLE_RESEARCH_TOOLS_", extra="ignore")

    fetch_allow_private: bool = False
    fetch_max_bytes: int = Field(default=2_000_000, gt=0)
    fetch_timeout_s: float = Field(default=10.0, gt=0)
    fetch_max_redirects: int = Field(default=5, ge=0)
    documents_root: Path | None = None
    max_tool_calls: int = Field(default=12, ge=1)
    max_tool_errors: int = Field(default=3, ge=0)
    wikipedia_api_url: str | None = None


class DocumentSink(Protocol):
    """Where a tool puts what it read so later subtasks, the validator and citations see it.

    The activity gives one that chunks the text and upserts it into the job's collection with
    content-hash ids (a retry adds nothing); tests and notebooks may give a list-backed one.
    """

    def add(self, source: str, title: str, text: str) -> list[Evidence]:
        """Index `text` read from `source`; its chunks as evidence (ids a finding can cite)."""
        ...


class ArtifactReader(Protocol):
    """Reads a job's artifacts by key (findings, reports), for `read_document`."""

    def get_text(self, key: str) -> str: ...


@dataclass
class ToolContext:
    """What a tool factory gets at run time (the graph's context, plus where tools write).

    Attributes:
        retriever: the job's hybrid retriever (`search_memory`).
        model: the run's chat model (a tool that asks a model uses this one, through the call log).
        settings: bounds and permissions (`ToolSettings`).
        sink: where fetched documents go (None: tools that read cannot index what they read).
        artifacts: the job's artifact store, read-only (None: no artifacts).
        params: the graph's params (a tool may read its own knobs there).
    """

    retriever: Retriever
    model: BaseChatModel
    settings: ToolSettings = field(default_factory=ToolSettings)
    sink: DocumentSink | None = None
    artifacts: ArtifactReader | None = None
    params: dict[str, Any] = field(default_factory=dict)


ToolFactory = Callable[[ToolContext], BaseTool]


@dataclass(frozen=True)
class ToolSpec:
    """One registered tool.

    Attributes:
        name: what the model calls it and a spec names it by.
        factory: builds the LangChain tool from a `ToolContext`.
        description: one line for `tools list` (the tool's own description is what the model reads).
        durable: where it runs: inside the graph activity, as its own activity, or as a question to a person.
        side_effects: it changes something outside the job; only allowed where a spec names it.
    """

    name: str
    factory: ToolFactory
    description: str = ""
    durable: Durable = "inline"
    side_effects: bool = False

    def build(self, context: ToolContext) -> BaseTool:
        tool = self.factory(context)
        if tool.name != self.name:
            raise ConfigError(f"Tool factory {self.name!r} built a tool named {tool.name!r}; the names must match.")
        return tool

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "durable": self.durable,
            "side_effects": self.side_effects,
        }


class ToolNotFoundError(ConfigError):
    """No tool is registered under a name a spec or a graph asked for."""

    def __init__(self, name: str, registered: list[str]) -> None:
        self.name = name
        super().__init__(
            f"No tool is registered as {name!r}. Registered: {', '.join(registered) or 'nothing'}. "
            "Register it with @register_tool(...) or --tools module:attr."
        )


class ToolRegistry:
    """Name -> ToolSpec. Re-registering a name replaces it (notebook cells re-run)."""

    def __init__(self) -> None:
        self._specs: dict[str, ToolSpec] = {}

    def register(
        self, name: str, *, description: str = "", durable: Durable = "inline", side_effects: bool = False
    ) -> Callable[[ToolFactory], ToolFactory]:
        """Decorator: register a factory and return it unchanged (with its spec attached)."""

        def decorator(factory: ToolFactory) -> ToolFactory:
            doc = (factory.__doc__ or "").strip().splitlines()
            spec = ToolSpec(name, factory, description or (doc[0] if doc else ""), durable, side_effects)
            self.add(spec)
            setattr(factory, _SPEC_ATTR, spec)
            return factory

        return decorator

    def add(self, spec: ToolSpec) -> ToolSpec:
        if not _NAME.match(spec.name):
            raise ConfigError(f"Tool name {spec.name!r} is not valid: a letter, then letters, digits, '_' or '-'.")
        self._specs[spec.name] = spec
        return spec

    def get(self, name: str) -> ToolSpec:
        if name not in self._specs:
            raise ToolNotFoundError(name, self.names())
        return self._specs[name]

    def names(self) -> list[str]:
        return sorted(self._specs)

    def list(self) -> builtins.list[ToolSpec]:
        return [self._specs[n] for n in self.names()]

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    def load(self, path: str) -> builtins.list[ToolSpec]:
        """Import "module:attr" and register the tools it names (a decorated factory, a ToolSpec,
        or a list of either)."""
        return [self.add(_as_spec(item, path)) for item in import_items(path, ConfigError, "my_tools:make_tool")]

    def load_entry_points(self, group: str = "durable_research.tools") -> builtins.list[ToolSpec]:
        """Register every tool named by installed packages' entry points in `group`."""
        return [spec for ep in entry_points(group=group) for spec in self.load(ep.value)]


def _as_spec(item: Any, path: str) -> ToolSpec:
    if isinstance(item, ToolSpec):
        return item
    spec = getattr(item, _SPEC_ATTR, None)
    if isinstance(spec, ToolSpec):
        return spec
    raise ConfigError(f"{path!r} names a {type(item).__name__}, not a tool: a ToolSpec or a @register_tool factory.")


default_tools = ToolRegistry()
register_tool = default_tools.register
