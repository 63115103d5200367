"""MCP tools that look things up: the graphs and tools a job may use, and the semantic memory."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from orchestration.edge.cli.mcp_server.backend import Backend
from retrieval import DEFAULT_COLLECTION, open_memory


class CatalogTools:
    """The look-up tools, bound to one backend."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    def list_graphs(self) -> dict[str, list[dict[str, Any]]]:
        """The graphs a job may pin per subtask kind (name@version), with their nodes and input/output types."""
        return {"graphs": [spec.describe() for spec in self.backend.registry.list()]}

    def list_tools(self) -> dict[str, list[dict[str, Any]]]:
        """The tools a job may give a tool-using graph: where each runs and whether it has side effects."""
        return {"tools": [spec.describe() for spec in self.backend.tools.list()]}

    async def search_memory(
        self,
        query: Annotated[str, Field(description="The question to search for.")],
        collection: Annotated[str, Field(description="Chroma collection.")] = DEFAULT_COLLECTION,
        k: Annotated[int, Field(ge=1, le=100, description="How many hits.")] = 5,
    ) -> dict[str, list[dict[str, Any]]]:
        """The k chunks of the semantic memory most similar to the query, like `durable-research search`."""
        if not query.strip():
            raise ToolError(
                "The query is empty; pass the question to search for, "
                'e.g. `durable-research search "How are activities retried?"`.'
            )
        hits = await asyncio.to_thread(self._search, query, collection, k)  # Chroma and the embedder block
        return {"hits": hits}

    def _search(self, query: str, collection: str, k: int) -> list[dict[str, Any]]:
        environment = self.backend.environment
        # create=False: searching never creates an empty collection.
        memory = open_memory(environment.memory, collection, home=environment.orchestration.home, create=False)
        try:
            if memory.count() == 0:
                raise ToolError(
                    f"Collection {collection!r} is empty. Index something first, e.g. "
                    "`durable-research ingest pkgdocs:temporalio,langgraph`."
                )
            hits = memory.query(query, k=k)
        finally:
            close = getattr(memory, "close", None)
            if callable(close):
                close()
        return [
            {
                "source": h.source, "id": h.id, "score": round(h.score, 4), "title": h.metadata.get("title", ""),
                "chunk": h.metadata.get("chunk"), "text": h.text,
            }
            for h in hits
        ]  # fmt: skip
