"""What every command reads from the root context: the environment, checked once in `main`."""

from __future__ import annotations

import typer

from orchestration.edge.env import Environment
from orchestration.settings import OrchestrationSettings


def env(ctx: typer.Context) -> Environment:
    """The settings `main` read from the environment for this invocation."""
    found = ctx.find_root().obj
    assert isinstance(found, Environment), "the root callback sets ctx.obj"
    return found


def settings(ctx: typer.Context) -> OrchestrationSettings:
    """Where state lives and which Temporal to talk to."""
    return env(ctx).orchestration
