"""What activities need, built once per worker process from settings (never at import time)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from orchestration.artifacts import LocalArtifactStore, artifact_store
from orchestration.shared.spec import ModelChoice
from orchestration.telemetry.prices import PriceTable
from reasoning import GraphRegistry, default_registry
from reasoning.models import ModelSettings, make_chat_model
from reasoning.runner import CheckpointConfig
from reasoning.tools import ToolRegistry, ToolSettings, default_tools
from retrieval import MemorySettings, SemanticMemory, open_memory


class CheckpointSettings(BaseSettings):
    """Where graphs keep their durable state; env prefix DURABLE_RESEARCH_CHECKPOINT_.

    Resume-mode checkpoints, and the call log of every graph run (`CALL_LOG`, on by default:
    a retry in either recovery mode gets each finished model call back instead of paying for
    it again). SQLite under the state folder suits one host (one database per job under
    `checkpoints/`, so a paused worker stalls only its own job; `SQLITE_PATH` names one
    shared file instead); workers on several hosts must share Postgres, or a retry on
    another host would find no checkpoint and no logged call and start over.
    """

    model_config = SettingsConfigDict(env_prefix="DURABLE_RESEARCH_CHECKPOINT_", extra="ignore")

    sqlite_path: Path | None = None
    sqlite_dir: Path | None = None
    postgres_url: str | None = None
    busy_timeout_s: float = Field(default=30.0, gt=0)
    call_log: bool = True


@dataclass
class WorkerDeps:
    """Shared by every activity of one worker: memory handles, registry, model settings.

    Memory handles are cached per collection: the in-memory store only works if every
    activity sees the same one, and a local Chroma folder is opened once per process.
    """

    home: Path
    memory_settings: MemorySettings
    model_settings: ModelSettings
    registry: GraphRegistry
    checkpoint: CheckpointConfig
    prices: PriceTable = field(default_factory=PriceTable)
    tools: ToolRegistry = field(default_factory=lambda: default_tools)
    tool_settings: ToolSettings = field(default_factory=ToolSettings)
    artifacts: LocalArtifactStore = field(init=False)
    _memories: dict[str, SemanticMemory] = field(default_factory=dict, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def __post_init__(self) -> None:
        self.artifacts = artifact_store(self.home)

    @classmethod
    def from_env(cls, home: Path, registry: GraphRegistry | None = None) -> WorkerDeps:
        """Read the reasoning/retrieval settings from the environment, once, at the edge."""
        return cls.from_settings(
            home, MemorySettings(), ModelSettings(), CheckpointSettings(), registry, tool_settings=ToolSettings()
        )

    @classmethod
    def from_settings(
        cls,
        home: Path,
        memory: MemorySettings,
        model: ModelSettings,
        checkpoints: CheckpointSettings,
        registry: GraphRegistry | None = None,
        prices: PriceTable | None = None,
        tools: ToolRegistry | None = None,
        tool_settings: ToolSettings | None = None,
    ) -> WorkerDeps:
        """Build from settings the edge already read (and checked)."""
        return cls(
            prices=prices or PriceTable(),
            tools=tools or default_tools,
            tool_settings=tool_settings or ToolSettings(),
            home=home,
            memory_settings=memory,
            model_settings=model,
            registry=registry or default_registry,
            checkpoint=CheckpointConfig(
                sqlite_path=checkpoints.sqlite_path,
                sqlite_dir=None if checkpoints.sqlite_path else checkpoints.sqlite_dir or home / "checkpoints",
                postgres_url=checkpoints.postgres_url,
                busy_timeout_s=checkpoints.busy_timeout_s,
                call_log=checkpoints.call_log,
            ),
        )

    def memory(self, collection: str) -> SemanticMemory:
        with self._lock:
            if collection not in self._memories:
                self._memories[collection] = open_memory(self.memory_settings, collection, home=self.home)
            return self._memories[collection]

    def model(self, choice: ModelChoice) -> BaseChatModel:
        """A chat model for the job's choice; endpoint and key come from this worker's env."""
        return make_chat_model(self.model_settings_for(choice))

    def model_settings_for(self, choice: ModelChoice) -> ModelSettings:
        """This worker's model settings with the job's provider and name."""
        update: dict[str, Any] = {"provider": choice.provider}
        if choice.name:
            update["name"] = choice.name
        return self.model_settings.model_copy(update=update)

    def model_label(self, choice: ModelChoice) -> str:
        """`provider` or `provider:name` (metrics label, price table key); the name only for openai."""
        if choice.provider != "openai":
            return choice.provider
        return f"openai:{choice.name or self.model_settings.name}"
