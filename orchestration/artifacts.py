"""Artifact store: findings and reports live here; workflow history holds only their keys."""

from __future__ import annotations

import os
import re
from pathlib import Path

from orchestration.errors import ConfigError

_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/@:-]*$")


def artifact_store(home: Path) -> LocalArtifactStore:
    """The store of a state folder: `<home>/artifacts` (clients and workers must agree on it)."""
    return LocalArtifactStore(home / "artifacts")


class LocalArtifactStore:
    """Files under one root folder (a shared mount when workers run on several hosts).

    Writes are atomic (temp file + rename) and idempotent: writing the same key twice
    leaves one file, so an activity retry never duplicates an artifact.
    """

    def __init__(self, root: Path) -> None:
        self.root = root.expanduser().resolve()

    def path(self, key: str) -> Path:
        if not _KEY.match(key) or ".." in key:
            raise ConfigError(f"artifact key '{key}' must be a relative path without '..'")
        return self.root / key

    def put_text(self, key: str, text: str) -> Path:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(target)
        return target

    def get_text(self, key: str) -> str:
        try:
            return self.path(key).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(
                f"artifact '{key}' is not in {self.root}; workers and clients must share "
                "the state folder (DURABLE_RESEARCH_HOME)"
            ) from None

    def exists(self, key: str) -> bool:
        return self.path(key).exists()

    def delete(self, key: str) -> bool:
        try:
            self.path(key).unlink()
            return True
        except FileNotFoundError:
            return False
