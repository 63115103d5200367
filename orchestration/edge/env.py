"""Every setting the environment gives this process, read once at the edge and checked up front.

A bad value (`DURABLE_RESEARCH_TEMPORAL_PORT=abc`, `..._MEMORY_MODE=bogus`) becomes one
ConfigError line naming the variable and what it accepts, before any command does
anything; the settings are then passed down, never rebuilt further in.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsError

from orchestration.activities import CheckpointSettings
from orchestration.errors import ConfigError
from orchestration.settings import OrchestrationSettings
from orchestration.worker import WorkerSettings
from reasoning.models import ModelSettings
from reasoning.tools import ToolSettings
from retrieval import MemorySettings


@dataclass(frozen=True)
class Environment:
    """The settings of every package, as this process's environment sets them."""

    orchestration: OrchestrationSettings
    memory: MemorySettings
    model: ModelSettings
    checkpoint: CheckpointSettings
    worker: WorkerSettings
    tools: ToolSettings

    @classmethod
    def load(cls) -> Environment:
        """Read them all; the first bad variable raises ConfigError (one line, with the fix)."""
        return cls(
            orchestration=_read(OrchestrationSettings),
            memory=_read(MemorySettings),
            model=_read(ModelSettings),
            checkpoint=_read(CheckpointSettings),
            worker=_read(WorkerSettings),
            tools=_read(ToolSettings),
        )


def _read(settings_type: type[Any]) -> Any:
    try:
        return settings_type()
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error["loc"] else ""
        var = _variable(settings_type, field)
        value = os.environ.get(var, "")
        raise ConfigError(
            f"{var}={value!r} is invalid: {error['msg'].rstrip('.')}. Fix it or unset it ({_fix(error)})."
        ) from None
    except SettingsError as exc:  # a complex field (dict, list) whose value is not JSON
        field = str(exc).split("field ", 1)[-1].split(" ", 1)[0].strip('"')
        var = _variable(settings_type, field)
        raise ConfigError(
            f"{var}={os.environ.get(var, '')!r} is not valid JSON; give a JSON object, "
            f'e.g. {var}=\'{{"limit.historyCount.suggestContinueAsNew": "50"}}\', or unset it.'
        ) from None


def _variable(settings_type: type[BaseSettings], field: str) -> str:
    """The environment variable that set `field` (an alias such as TEMPORAL_ADDRESS, or prefix + name)."""
    info = settings_type.model_fields.get(field)
    alias = getattr(info, "validation_alias", None) if info else None
    for choice in getattr(alias, "choices", []) or []:
        if isinstance(choice, str) and choice in os.environ:
            return choice
    return f"{settings_type.model_config.get('env_prefix', '')}{field}".upper()


_EXPECTED = {
    "int_parsing": "a whole number",
    "float_parsing": "a number",
    "bool_parsing": "true or false",
    "json_invalid": "JSON",
    "path_type": "a path",
}


def _fix(error: Any) -> str:
    """What the variable accepts, from pydantic's error context."""
    ctx = error.get("ctx") or {}
    if "expected" in ctx:
        return f"expected {ctx['expected']}"
    limits = (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<="))
    bounds = [f"{word} {ctx[key]}" for key, word in limits if key in ctx]
    if bounds:
        return "a number " + " and ".join(bounds)
    return "expected " + _EXPECTED.get(error["type"], "a valid value; see docs/reference/settings.md")
