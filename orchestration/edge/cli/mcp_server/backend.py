"""What every MCP tool shares: this process's settings and registries, and one Temporal client made on first use."""

from __future__ import annotations

import asyncio
import functools

from orchestration.artifacts import LocalArtifactStore, artifact_store
from orchestration.batch_client import BatchHandle, lookup
from orchestration.client import JobHandle, ResearchClient
from orchestration.edge.env import Environment
from orchestration.edge.preflight import check_spec
from orchestration.settings import OrchestrationSettings
from reasoning import GraphRegistry
from reasoning.tools import ToolRegistry


class Backend:
    """The server's side of every tool: settings read once at the edge, registries loaded once.

    The Temporal client is made on first use, so the server starts (and lists graphs and
    tools) before Temporal is up, as an IDE starts it at launch. Looking never starts the
    embedded server; starting a job does, as `run --detach` does.

    Args:
        environment: every package's settings, as `main` read them.
        registry: the graphs a job may pin (built-ins, entry points, `--graphs`).
        tools: the tools a job may give its graphs (built-ins, entry points, `--tools`).
    """

    def __init__(self, environment: Environment, registry: GraphRegistry, tools: ToolRegistry) -> None:
        self.environment = environment
        self.registry = registry
        self.tools = tools
        # The `run` command's preflight: the same checks, the same ingest file cap.
        self.preflight = functools.partial(check_spec, max_file_bytes=environment.memory.max_file_bytes)
        self._client: ResearchClient | None = None
        self._lock = asyncio.Lock()

    @property
    def settings(self) -> OrchestrationSettings:
        return self.environment.orchestration

    @property
    def artifacts(self) -> LocalArtifactStore:
        """Where workers write findings and reports (the state folder's, as the CLI reads them)."""
        return artifact_store(self.settings.home.expanduser().resolve())

    async def client(self, *, start_server: bool = False) -> ResearchClient:
        """The process's one client; `start_server` starts the embedded server if none runs yet."""
        async with self._lock:
            if self._client is None:
                self._client = await ResearchClient.connect(
                    self.settings, start_server=start_server, preflight=self.preflight
                )
            return self._client

    async def job(self, job_id: str) -> JobHandle:
        """The research job `job_id`; an unknown id raises RPCError NOT_FOUND, as `status` does."""
        handle = (await self.client()).attach(job_id)
        await handle.handle.describe()
        return handle

    async def lookup(self, job_id: str) -> JobHandle | BatchHandle:
        """The handle of `job_id`, a research job's or a batch's; an unknown id raises RPCError NOT_FOUND."""
        return await lookup(await self.client(), job_id)
