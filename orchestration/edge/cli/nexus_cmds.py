"""`nexus serve` and `nexus endpoint create|list|delete`: research as a Nexus service for other namespaces.

An endpoint is a cluster-wide name that routes Nexus calls to one namespace and task queue; the
endpoint commands manage it through the operator API (`temporal operator nexus endpoint ...` does
the same). `serve` runs the worker that answers those calls (`DurableResearchV1`, see
`orchestration.shared.nexus_contract`); the jobs it starts run on the usual `durable-research worker`
processes.
"""

from __future__ import annotations

import re
from typing import Any

import typer
from rich.table import Table
from temporalio.api.nexus.v1 import Endpoint, EndpointSpec, EndpointTarget
from temporalio.api.operatorservice.v1 import (
    CreateNexusEndpointRequest,
    DeleteNexusEndpointRequest,
    ListNexusEndpointsRequest,
)
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client
from temporalio.converter import PayloadConverter
from temporalio.service import RPCError, RPCStatusCode

from orchestration.client import connect
from orchestration.edge.cli.context import env
from orchestration.edge.cli.context import settings as settings_of
from orchestration.edge.cli.job_support import load_graphs, load_tools
from orchestration.edge.cli.nexus_service import ResearchService
from orchestration.edge.cli.output import bad_input, console, emit_json
from orchestration.edge.cli.runner import clean_errors, worker_deps
from orchestration.edge.env import Environment
from orchestration.errors import ConfigError
from orchestration.settings import OrchestrationSettings
from orchestration.shared.nexus_contract import DEFAULT_ENDPOINT, SERVICE_NAME
from orchestration.worker import build_workers, serve_reconnecting
from reasoning import GraphRegistry, ReasoningError

nexus_app = typer.Typer(
    help="Research as a Nexus service that workflows of other namespaces call.", no_args_is_help=True
)
endpoint_app = typer.Typer(help="Nexus endpoints: names that route calls to the research task queue.")
nexus_app.add_typer(endpoint_app, name="endpoint", no_args_is_help=True)

# The server's rule for endpoint names, checked here so a bad name is refused before any connection.
_ENDPOINT_NAME = re.compile(r"^[a-zA-Z][a-zA-Z0-9-]*[a-zA-Z0-9]$")
_JSON = typer.Option(False, "--json", help="Machine-readable output.")
_NAME = typer.Option(DEFAULT_ENDPOINT, "--name", help="Endpoint name callers use.")


@endpoint_app.command("create")
def create(
    ctx: typer.Context,
    name: str = _NAME,
    namespace: str | None = typer.Option(
        None, "--target-namespace", help="Namespace the research workers serve (default: TEMPORAL_NAMESPACE)."
    ),
    task_queue: str | None = typer.Option(
        None, "--task-queue", help="Task queue `nexus serve` polls (default: the research workflows queue)."
    ),
    callers: list[str] = typer.Option(
        [], "--caller-namespace", help="A namespace whose workflows will call it: checked to exist (repeatable)."
    ),
    as_json: bool = _JSON,
) -> None:
    """Create the endpoint that routes `DurableResearchV1` calls to the research task queue."""
    _check_name(name)
    settings = settings_of(ctx)
    target = namespace or settings.namespace
    queue = task_queue or settings.task_queues().workflows
    clean_errors(_create)(settings, name, target, queue, callers, as_json)


async def _create(
    settings: OrchestrationSettings, name: str, target: str, queue: str, callers: list[str], as_json: bool
) -> None:
    client = await connect(settings)
    for caller in callers:  # the server checks the target namespace; callers are ours to check
        await _require_namespace(client, caller, "--caller-namespace")
    text = (
        f"Durable research jobs and batches: Nexus service `{SERVICE_NAME}` (operations `research`, `batch`) "
        f"on task queue `{queue}`." + (f" Callers: {', '.join(callers)}." if callers else "")
    )
    spec = EndpointSpec(
        name=name,
        description=PayloadConverter.default.to_payloads([text])[0],
        target=EndpointTarget(worker=EndpointTarget.Worker(namespace=target, task_queue=queue)),
    )
    try:
        created = (await client.operator_service.create_nexus_endpoint(CreateNexusEndpointRequest(spec=spec))).endpoint
    except RPCError as exc:
        raise ConfigError(_refused_create(exc, name, target)) from None
    if as_json:
        emit_json(_row(created))
        return
    console.print(f"endpoint {name}: {SERVICE_NAME} -> namespace {target}, task queue {queue} (id {created.id})")
    console.print(f'callers: workflow.create_nexus_client(service=DurableResearchV1, endpoint="{name}")')


@endpoint_app.command("list")
def list_endpoints(ctx: typer.Context, as_json: bool = _JSON) -> None:
    """List the Nexus endpoints of the server, with where each routes."""
    clean_errors(_list)(settings_of(ctx), as_json)


async def _list(settings: OrchestrationSettings, as_json: bool) -> None:
    client = await connect(settings, start_server=False)
    rows = [_row(endpoint) for endpoint in await _endpoints(client)]
    if as_json:
        emit_json(rows)
        return
    table = Table(title="Nexus endpoints")
    for column in ("name", "namespace", "task queue", "id"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(row["name"], row["namespace"], row["task_queue"], row["id"])
    console.print(table)


@endpoint_app.command("delete")
def delete(
    ctx: typer.Context, name: str = typer.Argument(..., help="The endpoint's name."), as_json: bool = _JSON
) -> None:
    """Delete an endpoint: calls through it fail until one with its name exists again."""
    _check_name(name)
    clean_errors(_delete)(settings_of(ctx), name, as_json)


async def _delete(settings: OrchestrationSettings, name: str, as_json: bool) -> None:
    client = await connect(settings, start_server=False)
    found = [e for e in await _endpoints(client, name) if e.spec.name == name]
    if not found:
        raise ConfigError(f"no Nexus endpoint is named '{name}'; `durable-research nexus endpoint list` shows them")
    endpoint = found[0]
    await client.operator_service.delete_nexus_endpoint(
        DeleteNexusEndpointRequest(id=endpoint.id, version=endpoint.version)
    )
    emit_json(_row(endpoint) | {"deleted": True}) if as_json else console.print(f"endpoint {name}: deleted")


@nexus_app.command("serve")
def serve(
    ctx: typer.Context,
    graphs: list[str] = typer.Option(
        [], "--graphs", help="Register graphs from module:attr first (specs may pin them)."
    ),
    tools: list[str] = typer.Option([], "--tools", help="Register tools from module:attr first (specs may name them)."),
) -> None:
    """Answer `DurableResearchV1` calls on the research task queue until SIGTERM/SIGINT.

    Requests are checked as `run` and `batch` check them; the jobs run on `durable-research worker`.
    """
    try:
        registry = load_graphs(graphs)
        load_tools(tools)
    except (ValueError, ReasoningError) as exc:  # a --graphs or --tools path that does not load
        bad_input(str(exc))
    clean_errors(_serve)(env(ctx), registry)


async def _serve(environment: Environment, registry: GraphRegistry) -> None:
    settings = environment.orchestration
    deps = worker_deps(environment, settings.home.expanduser().resolve(), registry)
    service = ResearchService(settings, deps)
    queues = settings.task_queues()
    # The same life as `worker`: waits for a server that is not up yet, drains on SIGTERM/SIGINT.
    await serve_reconnecting(
        lambda: connect(settings),
        lambda client: build_workers(
            client, deps, queues=queues, settings=environment.worker, run=(), nexus_service_handlers=[service]
        ),
        target=settings.temporal_address or f"the embedded server of {settings.home}",
        settings=environment.worker,
        on_ready=lambda client: console.print(
            f"nexus ready: {SERVICE_NAME} on task queue {queues.workflows} of namespace {client.namespace}"
        ),
    )
    console.print("nexus stopped: drained")


def _check_name(name: str) -> None:
    if not _ENDPOINT_NAME.match(name):
        bad_input(
            f"--name '{name}' must be letters, digits and '-', starting with a letter and ending with a letter "
            "or digit (e.g. durable-research)"
        )


async def _require_namespace(client: Client, namespace: str, option: str) -> None:
    try:
        await client.workflow_service.describe_namespace(DescribeNamespaceRequest(namespace=namespace))
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise
        raise ConfigError(
            f"{option} '{namespace}': no such namespace on this server; create it with "
            f"`temporal operator namespace create --namespace {namespace}`"
        ) from None


def _refused_create(exc: RPCError, name: str, target: str) -> str:
    if exc.status == RPCStatusCode.ALREADY_EXISTS:
        return (
            f"a Nexus endpoint named '{name}' already exists; `durable-research nexus endpoint list` shows where it "
            f"routes, `durable-research nexus endpoint delete {name}` removes it, or pick another --name"
        )
    if exc.status == RPCStatusCode.FAILED_PRECONDITION and "namespace" in exc.message.lower():
        return (
            f"--target-namespace '{target}': no such namespace on this server (the research workers' "
            "TEMPORAL_NAMESPACE)"
        )
    return f"cannot create the endpoint '{name}': {exc.message}"


async def _endpoints(client: Client, name: str = "") -> list[Endpoint]:
    found: list[Endpoint] = []
    token = b""
    while True:
        page = await client.operator_service.list_nexus_endpoints(
            ListNexusEndpointsRequest(page_size=100, next_page_token=token, name=name)
        )
        found.extend(page.endpoints)
        token = page.next_page_token
        if not token:
            return found


def _row(endpoint: Endpoint) -> dict[str, Any]:
    worker = endpoint.spec.target.worker
    return {
        "name": endpoint.spec.name, "namespace": worker.namespace, "task_queue": worker.task_queue,
        "id": endpoint.id, "url_prefix": endpoint.url_prefix,
        "created": endpoint.created_time.ToJsonString() if endpoint.HasField("created_time") else None,
    }  # fmt: skip


def register(app: typer.Typer) -> None:
    app.add_typer(nexus_app, name="nexus")
