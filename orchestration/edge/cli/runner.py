"""How a command runs: its async body with expected failures as one clean line, and an in-process worker's parts.

Every command builds its Temporal client from the settings made once in `main`, and
turns the errors a user can cause (bad spec, unknown job, refused update) into one
clean line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import typer
from pydantic import ValidationError
from temporalio.client import WorkflowUpdateFailedError
from temporalio.runtime import Runtime
from temporalio.service import RPCError, RPCStatusCode

from orchestration.activities import WorkerDeps
from orchestration.client import JobExistsError
from orchestration.edge.cli.job_support import pydantic_problems
from orchestration.edge.cli.output import bad_input, err_console, fail
from orchestration.edge.env import Environment
from orchestration.errors import ConfigError, DurableResearchError
from orchestration.settings import OrchestrationSettings
from orchestration.telemetry.prices import PriceTable
from orchestration.telemetry.runtime import prometheus_runtime
from reasoning import GraphRegistry, ReasoningError
from reasoning.errors import ConfigError as ReasoningConfigError

_P = ParamSpec("_P")
_T = TypeVar("_T")

METRICS_PORT = typer.Option(
    None, "--metrics-port", help="Serve Prometheus metrics on this port (default: DURABLE_RESEARCH_METRICS_PORT)."
)


def clean_errors(fn: Callable[_P, Awaitable[_T]]) -> Callable[_P, None]:
    """Run an async command; expected failures become `error: ...` and exit 1."""

    @functools.wraps(fn)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> None:
        try:
            _run_mapped(fn, *args, **kwargs)
        except KeyboardInterrupt:
            raise typer.Exit(130) from None

    return wrapper


def _run_mapped(fn: Callable[..., Awaitable[Any]], *args: Any, **kwargs: Any) -> None:
    try:
        asyncio.run(fn(*args, **kwargs))  # type: ignore[arg-type]
    except (ConfigError, ReasoningConfigError, JobExistsError) as exc:  # what the user typed or set
        bad_input(str(exc))
    except (DurableResearchError, ReasoningError) as exc:
        fail(str(exc))
    except ValidationError as exc:
        bad_input("invalid job spec: " + pydantic_problems(exc))
    except WorkflowUpdateFailedError as exc:
        fail(f"refused: {getattr(exc.cause, 'message', None) or exc.cause}")
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            fail(f"no such job ({exc.message}); `durable-research jobs` lists them")
        fail(f"Temporal said: {exc.message}")


def worker_deps(environment: Environment, home: Path, registry: GraphRegistry) -> WorkerDeps:
    prices = PriceTable.load(environment.orchestration.price_table)  # unreadable: ConfigError, exit 2
    return WorkerDeps.from_settings(
        home, environment.memory, environment.model, environment.checkpoint, registry, prices=prices,
        tool_settings=environment.tools,
    )  # fmt: skip


def metrics_runtime(settings: OrchestrationSettings, port: int | None) -> Runtime | None:
    """The process's one Temporal runtime with a Prometheus endpoint, when a port is asked for."""
    port = port if port is not None else settings.metrics_port
    runtime = prometheus_runtime(
        port,
        settings.metrics_host,
        warn=lambda line: err_console.print(f"[yellow]warning:[/] {line}", highlight=False),
    )
    if runtime is not None:  # stderr: stdout stays the command's own output (JSON, "worker ready")
        err_console.print(f"metrics: http://{settings.metrics_host}:{port}/metrics", highlight=False)
    return runtime


def sdk_logs_to_file(path: Path) -> None:
    """The in-process worker's SDK logs (activity retries with tracebacks) go to a file:
    the terminal shows progress, and a failure still ends in one clean error line."""
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    sdk = logging.getLogger("temporalio")
    sdk.addHandler(handler)
    sdk.propagate = False
