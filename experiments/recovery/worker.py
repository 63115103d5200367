"""A worker process of a Temporal arm; the controller SIGKILLs it and starts another (or
SIGSTOPs it and lets it go on).

``python -m experiments.recovery.worker --address H:P --task-queue Q --kind subtask|plugin``
prints ``READY`` once it polls. `subtask` serves A2/A3/A5 with the product's own reasoning
activities (``reasoning.run_subtask`` runs the workload graph), configured as the
product's worker is, from ``DURABLE_RESEARCH_*`` variables (model provider ``openai``
pointed at the stub, checkpoint folder, call log on or off, memory mode), plus ``RECOVERY_*`` for the
workload's probes and run folders; `plugin` serves A4 (Temporal's LangGraph plugin,
node as activity).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer
from temporalio.client import Client
from temporalio.common import RetryPolicy
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from experiments.recovery.workflows import (
    PLUGIN_GRAPH_NAME,
    GraphInActivityWorkflow,
    PluginGraphWorkflow,
)
from orchestration.payloads.converter import data_converter
from orchestration.settings import OrchestrationSettings


class Kind(StrEnum):
    """What the worker serves."""

    SUBTASK = "subtask"
    PLUGIN = "plugin"


def _plugin(heartbeat_s: float, max_attempts: int, retry_initial_s: float) -> Any:
    from temporalio.langgraph import LangGraphPlugin

    from experiments.recovery.workload import build_graph

    options = {
        "execute_in": "activity",
        "heartbeat_timeout": timedelta(seconds=heartbeat_s),
        "start_to_close_timeout": timedelta(seconds=300),
        "retry_policy": RetryPolicy(
            initial_interval=timedelta(seconds=retry_initial_s),
            backoff_coefficient=1.0,
            maximum_attempts=max_attempts,
        ),
    }
    return LangGraphPlugin(graphs={PLUGIN_GRAPH_NAME: build_graph(options)})


def _product_activities(home: Path) -> list[Any]:
    """The product's reasoning activities over the workload registry, deps from the environment."""
    from experiments.recovery.subtask_graph import COLLECTION, workload_registry
    from orchestration.activities import WorkerDeps, reasoning_activities

    deps = WorkerDeps.from_env(home, registry=workload_registry())
    deps.memory(COLLECTION)  # the product's memory handle, opened now as the first call would
    return reasoning_activities(deps)


async def serve(
    address: str, task_queue: str, kind: Kind, sticky_s: float, heartbeat_s: float, max_attempts: int,
    retry_initial_s: float, home: Path | None,
) -> None:  # fmt: skip
    """Poll the task queue until killed."""
    from experiments.recovery.workload import warm_up

    warm_up()  # exactly what a local standby does before READY

    client = await Client.connect(address, data_converter=data_converter(OrchestrationSettings()))
    common: dict[str, Any] = {
        "task_queue": task_queue,
        "sticky_queue_schedule_to_start_timeout": timedelta(seconds=sticky_s),
        "max_concurrent_activities": 8,
        # The package's __init__ pulls in the whole harness; none of it runs in a workflow.
        "workflow_runner": SandboxedWorkflowRunner(
            restrictions=SandboxRestrictions.default.with_passthrough_modules("experiments")
        ),
    }
    if kind is Kind.PLUGIN:
        plugin = _plugin(heartbeat_s, max_attempts, retry_initial_s)
        worker = Worker(client, workflows=[PluginGraphWorkflow], plugins=[plugin], **common)
    else:
        assert home is not None  # checked by the command before anything starts
        activities = _product_activities(home)
        worker = Worker(client, workflows=[GraphInActivityWorkflow], activities=activities, **common)
    async with worker:
        print("READY", flush=True)
        await asyncio.Event().wait()


app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


@app.command(help=__doc__.split("\n")[0])
def run(
    address: str = typer.Option(..., "--address", help="Temporal frontend HOST:PORT."),
    task_queue: str = typer.Option(..., "--task-queue"),
    kind: Kind = typer.Option(Kind.SUBTASK, "--kind", help="subtask (A2/A3/A5) or plugin (A4)."),
    sticky_s: float = typer.Option(1.0, "--sticky-s"),
    heartbeat_s: float = typer.Option(2.0, "--heartbeat-s"),
    max_attempts: int = typer.Option(6, "--max-attempts"),
    retry_initial_s: float = typer.Option(0.2, "--retry-initial-s"),
    home: Path = typer.Option(None, "--home", help="The product's state folder (artifacts) for --kind subtask."),
) -> None:
    if kind is Kind.SUBTASK and home is None:
        raise typer.BadParameter("is required with --kind subtask", param_hint="--home")
    asyncio.run(serve(address, task_queue, kind, sticky_s, heartbeat_s, max_attempts, retry_initial_s, home))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
