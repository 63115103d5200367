"""Tools for tool-using graphs: a registry like the graphs' and the built-in tools.

Importing this package registers the built-ins (`search_memory`, `read_document`, `fetch_url`)
in `default_tools`; `web` adds tools from langchain-community when that extra is installed.
"""

import contextlib

import reasoning.tools.builtin
import reasoning.tools.fetch_url

with contextlib.suppress(ImportError):  # the `web` extra: reference sources from langchain-community
    import reasoning.tools.web  # noqa: F401  (registers wikipedia)
from reasoning.tools.base import (
    ArtifactReader,
    DocumentSink,
    Durable,
    ToolContext,
    ToolNotFoundError,
    ToolRegistry,
    ToolSettings,
    ToolSpec,
    default_tools,
    register_tool,
)

__all__ = [
    "ArtifactReader",
    "DocumentSink",
    "Durable",
    "ToolContext",
    "ToolNotFoundError",
    "ToolRegistry",
    "ToolSettings",
    "ToolSpec",
    "default_tools",
    "register_tool",
]
