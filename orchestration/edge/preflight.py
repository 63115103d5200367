"""Checks a job spec before anything starts: pinned graphs and named tools exist, sources and names are valid."""

from __future__ import annotations

from orchestration.artifacts import artifact_store, job_has_artifacts
from orchestration.errors import ConfigError
from orchestration.settings import OrchestrationSettings
from orchestration.shared.spec import JobSpec, reports_collection
from reasoning import GraphRegistry, ReasoningError
from reasoning.tools import ToolNotFoundError, ToolRegistry, default_tools
from retrieval import RetrievalError, check_sources, has_readable_document, validate_collection_name

READABLE = "ingest reads non-empty .md, .txt, .rst, .html and .pdf files"


def check_spec(
    spec: JobSpec,
    *,
    registry: GraphRegistry | None = None,
    local_sources: bool = True,
    max_file_bytes: int | None = None,
    tools: ToolRegistry | None = None,
) -> None:
    """Raise ConfigError naming every problem at once (the client's `Preflight`).

    The rules are the domain packages' own (the registry's lookup, retrieval's source and
    collection-name checks), so a spec that passes here is not refused later by ingest.

    Args:
        registry: a graph registry to resolve pinned graphs in (the in-process worker's);
            None skips the check, for a detached start whose workers may know more graphs.
        local_sources: check that paths and `pkgdocs:` packages exist on this machine.
        max_file_bytes: the ingest's file cap (MemorySettings), to refuse an oversized file source now.
        tools: the tool registry the spec's tool names must be in (None: the default one).
    """
    problems: list[str] = []
    if registry is not None:
        for key in sorted({*spec.graphs.values(), spec.planner, spec.validator, spec.writer}):
            try:
                registry.get(key)
            except ReasoningError as exc:  # the registry's own error lists what is registered
                problems.append(str(exc))
    for kind, names in sorted(spec.tools.items()):
        for name in names:
            if name not in (tools or default_tools):  # tools are registered in every process the same way
                problems.append(f"tools for {kind}: {ToolNotFoundError(name, (tools or default_tools).names())}")
    for name in (spec.collection, reports_collection(spec.collection)):
        try:
            validate_collection_name(name)
        except RetrievalError as exc:
            problems.append(f"collection: {exc}")
    if local_sources:
        for source in spec.corpus:
            try:
                check_sources([source], max_file_bytes)
            except RetrievalError as exc:
                problems.append(f"corpus: {exc}")
        if spec.corpus and not problems and not has_readable_document(spec.corpus):
            problems.append(f"corpus: no readable document in {', '.join(spec.corpus)} ({READABLE})")
    if problems:
        raise ConfigError("invalid job spec: " + "; ".join(problems))


def check_job_id_unused(job_id: str, settings: OrchestrationSettings) -> None:
    """Refuse an id an earlier job used here, before a server is started for it (the client
    checks again, with the server's own record, when it starts the job)."""
    if job_has_artifacts(artifact_store(settings.home.expanduser()), job_id):
        raise ConfigError(
            f"job id '{job_id}' is already in use (an earlier job left its artifacts under that id); "
            f"`durable-research result {job_id}` shows it; pick another --job-id."
        )
