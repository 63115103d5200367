"""A worker process of a Temporal arm; the controller SIGKILLs it and starts another.

``python -m experiments.recovery.worker --address H:P --task-queue Q --kind graph|plugin``
prints ``READY`` once it polls. `graph` serves A2/A3 (graph in one activity), `plugin`
serves A4 (Temporal's LangGraph plugin, node as activity).
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import timedelta
from typing import Any

from temporalio.client import Client
from temporalio.common import RetryPolicy
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from experiments.recovery.workflows import (
    PLUGIN_GRAPH_NAME,
    GraphInActivityWorkflow,
    PluginGraphWorkflow,
)
from orchestration.converter import data_converter
from orchestration.settings import OrchestrationSettings


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


async def serve(args: argparse.Namespace) -> None:
    """Poll the task queue until killed."""
    from experiments.recovery.workload import warm_up

    warm_up()  # exactly what a local standby does before READY

    client = await Client.connect(args.address, data_converter=data_converter(OrchestrationSettings()))
    common: dict[str, Any] = {
        "task_queue": args.task_queue,
        "sticky_queue_schedule_to_start_timeout": timedelta(seconds=args.sticky_s),
        "max_concurrent_activities": 8,
        # The package's __init__ pulls in the whole harness; none of it runs in a workflow.
        "workflow_runner": SandboxedWorkflowRunner(
            restrictions=SandboxRestrictions.default.with_passthrough_modules("experiments")
        ),
    }
    if args.kind == "plugin":
        plugin = _plugin(args.heartbeat_s, args.max_attempts, args.retry_initial_s)
        worker = Worker(client, workflows=[PluginGraphWorkflow], plugins=[plugin], **common)
    else:
        from experiments.recovery.activities import run_graph

        worker = Worker(client, workflows=[GraphInActivityWorkflow], activities=[run_graph], **common)
    async with worker:
        print("READY", flush=True)
        await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--address", required=True)
    parser.add_argument("--task-queue", required=True)
    parser.add_argument("--kind", choices=["graph", "plugin"], default="graph")
    parser.add_argument("--sticky-s", type=float, default=1.0)
    parser.add_argument("--heartbeat-s", type=float, default=2.0)
    parser.add_argument("--max-attempts", type=int, default=6)
    parser.add_argument("--retry-initial-s", type=float, default=0.2)
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
