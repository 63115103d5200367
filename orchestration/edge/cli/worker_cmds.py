"""`worker`: serve task queues (and the Nexus service on the workflows queue) until told to stop."""

from __future__ import annotations

import typer

from orchestration.client import connect
from orchestration.edge.cli.context import env
from orchestration.edge.cli.job_support import load_graphs, load_tools
from orchestration.edge.cli.nexus_service import ResearchService
from orchestration.edge.cli.output import console
from orchestration.edge.cli.runner import METRICS_PORT, clean_errors, metrics_runtime, worker_deps
from orchestration.edge.env import Environment
from orchestration.telemetry.tracing import Tracing
from orchestration.worker import ALL_QUEUES, Queue, build_workers, serve_reconnecting


def worker(
    ctx: typer.Context,
    queue: list[Queue] = typer.Option([], "--queue", help="Task queues to serve (default: all)."),
    graphs: list[str] = typer.Option([], "--graphs", help="Register graphs from module:attr first."),
    tools: list[str] = typer.Option([], "--tools", help="Register tools from module:attr first."),
    metrics_port: int | None = METRICS_PORT,
) -> None:
    """Serve task queues until SIGTERM/SIGINT, then drain in-flight work."""
    clean_errors(_worker)(env(ctx), queue or list(ALL_QUEUES), graphs, metrics_port, tools)


async def _worker(
    environment: Environment,
    queues: list[Queue],
    graphs: list[str],
    metrics_port: int | None = None,
    tools: list[str] | None = None,
) -> None:
    settings = environment.orchestration
    registry = load_graphs(graphs)
    load_tools(tools or [])
    deps = worker_deps(environment, settings.home.expanduser().resolve(), registry)
    runtime = metrics_runtime(settings, metrics_port)  # one per process, kept across reconnects
    tracing = Tracing.from_settings(settings)
    tuning = environment.worker
    # The workflows queue is where a Nexus endpoint points: a worker serving it answers
    # `DurableResearchV1` calls from other namespaces too (`nexus serve` does only that).
    nexus = [ResearchService(settings, deps)] if "workflows" in queues else []
    # A server that is down (restarting after a crash) is waited for, not a traceback.
    await serve_reconnecting(
        lambda: connect(settings, runtime=runtime, plugins=tracing.plugins()),
        lambda client: build_workers(
            client,
            deps,
            queues=settings.task_queues(),
            settings=tuning,
            run=queues,
            warm_pool=True,
            nexus_service_handlers=nexus,
        ),
        target=settings.temporal_address or f"the embedded server of {settings.home}",
        settings=tuning,
        on_ready=lambda client: console.print(
            f"worker ready: queues {', '.join(queues)} on {client.service_client.config.target_host}"
        ),
    )
    tracing.flush()
    console.print("worker stopped: drained")


def register(app: typer.Typer) -> None:
    app.command("worker")(worker)
