"""Settings of the orchestration layer, read once at the edge (CLI, worker main, test fixture)."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from orchestration.shared.messages import TaskQueues


class OrchestrationSettings(BaseSettings):
    """Where state lives and which Temporal to talk to.

    Every field reads ``DURABLE_RESEARCH_<FIELD>``; the Temporal address and
    namespace also read the standard ``TEMPORAL_ADDRESS`` / ``TEMPORAL_NAMESPACE``
    so an existing Temporal setup is picked up without renaming anything.
    """

    model_config = SettingsConfigDict(env_prefix="DURABLE_RESEARCH_", extra="ignore")

    home: Path = Field(
        default=Path(".durable-research"),
        description="State folder: server database, pid record, logs, artifacts, memory.",
    )
    temporal_address: str | None = Field(
        default=None,
        validation_alias=AliasChoices("TEMPORAL_ADDRESS", "DURABLE_RESEARCH_TEMPORAL_ADDRESS"),
        description="host:port of an existing Temporal cluster; when set nothing is started.",
    )
    namespace: str = Field(
        default="default",
        validation_alias=AliasChoices("TEMPORAL_NAMESPACE", "DURABLE_RESEARCH_NAMESPACE"),
    )
    temporal_binary: Path | None = Field(
        default=None, description="The `temporal` CLI; defaults to the one in this venv."
    )
    temporal_port: int = Field(default=7233, ge=0, le=65535)
    ui_port: int = Field(default=8233, ge=0, le=65535)
    task_queue_prefix: str = Field(
        default="", description="Prefix for the task queues, to share a cluster between setups."
    )
    start_timeout_s: float = Field(default=30.0, gt=0)
    payload_key_file: Path | None = Field(
        default=None,
        description="JSON key ring for AES-GCM payload encryption (mode 0600); unset: payloads are not encrypted.",
    )
    payload_size_threshold: int = Field(
        default=256 * 1024,
        ge=1,
        le=2 * 1024 * 1024,
        description="Payloads of at least this many bytes go to External Storage under <home>/payloads.",
    )
    ui_codec_endpoint: str | None = Field(
        default=None,
        description="A codec server URL the Temporal UI calls to show decrypted payloads (`codec-server`).",
    )
    metrics_port: int | None = Field(
        default=None,
        description="Serve Prometheus metrics of this process's workers on this port (`--metrics-port`).",
    )
    metrics_host: str = Field(default="127.0.0.1", description="Address the metrics endpoint binds (0.0.0.0: all).")
    otlp_endpoint: str | None = Field(
        default=None,
        validation_alias=AliasChoices("OTEL_EXPORTER_OTLP_ENDPOINT", "DURABLE_RESEARCH_OTLP_ENDPOINT"),
        description="Export traces by OTLP/gRPC here (e.g. http://otel-collector:4317); unset: no tracing.",
    )
    trace_content: bool = Field(
        default=False,
        validation_alias=AliasChoices(
            "DURABLE_RESEARCH_TRACE_CONTENT", "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
        ),
        description="Put prompts, replies, tool arguments and results on trace spans; off: they may be secret.",
    )
    price_table: Path | None = Field(
        default=None, description="JSON prices per provider:model for cost figures; unset: offline models only."
    )
    dynamic_config: dict[str, str] = Field(
        default_factory=dict,
        description="Extra `--dynamic-config-value KEY=VALUE` for the dev server (JSON values).",
    )

    @property
    def embedded(self) -> bool:
        """True when this project starts and owns the Temporal server."""
        return self.temporal_address is None

    def address(self) -> str:
        """The Temporal frontend address clients connect to."""
        return self.temporal_address or f"127.0.0.1:{self.temporal_port}"

    def task_queues(self) -> TaskQueues:
        p = self.task_queue_prefix
        return TaskQueues(workflows=f"{p}research", reasoning=f"{p}reasoning", io=f"{p}io")
