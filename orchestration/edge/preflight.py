"""Checks a job spec before anything starts: pinned graphs exist, local sources exist."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path
from typing import Any

from orchestration.errors import ConfigError
from orchestration.shared.spec import JobSpec


def check_spec(spec: JobSpec, *, registry: Any | None = None, local_sources: bool = True) -> None:
    """Raise ConfigError naming every problem at once.

    Args:
        registry: a graph registry to resolve pinned graphs in (the in-process worker's);
            None skips the check, for a detached start whose workers may know more graphs.
        local_sources: check that paths and `pkgdocs:` packages exist on this machine.
    """
    problems: list[str] = []
    if registry is not None:
        for key in {*spec.graphs.values(), spec.planner, spec.validator, spec.writer}:
            try:
                registry.get(key)
            except Exception as exc:  # the registry's own error lists what is registered
                problems.append(str(exc))
    if local_sources:
        problems += _source_problems(spec.corpus)
    if problems:
        raise ConfigError("invalid job spec:\n- " + "\n- ".join(problems))


def _source_problems(sources: list[str]) -> list[str]:
    problems = []
    for source in sources:
        if source.startswith(("http://", "https://")):
            continue
        if source.startswith("pkgdocs:"):
            for name in filter(None, (n.strip() for n in source[8:].split(","))):
                try:
                    importlib.metadata.distribution(name)
                except importlib.metadata.PackageNotFoundError:
                    problems.append(f"corpus: package '{name}' is not installed (in {source})")
        elif not Path(source).expanduser().exists():
            problems.append(f"corpus: path '{source}' does not exist")
    return problems
