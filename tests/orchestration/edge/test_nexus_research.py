"""`DurableResearchV1` over Nexus on the real dev server, with two namespaces.

A caller workflow in its own namespace runs research through an endpoint made by `durable-research
nexus endpoint create` and served by a real `durable-research worker` process, which also runs the
job: it is SIGKILLed mid-subtask and restarted, and the caller still gets the report's reference
(that test runs first, before the module's `nexus serve` front starts, so only workers answer).
A bad spec comes back at once as a non-retryable handler error carrying the CLI's own
line, and nothing starts. A start retried with the same Nexus request id reaches the same job.
"""

from __future__ import annotations

import asyncio
import base64
import json
import signal
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import nexusrpc
import pytest
from google.protobuf.duration_pb2 import Duration
from temporalio.api.enums.v1 import EventType
from temporalio.api.workflowservice.v1 import RegisterNamespaceRequest
from temporalio.client import Client, WorkflowFailureError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import NexusOperationError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

from orchestration.client import JobHandle, ResearchClient
from orchestration.server import ServerRecord
from orchestration.shared.batch import BatchSpec
from orchestration.shared.nexus_contract import BatchRequest, ResearchRequest
from orchestration.shared.spec import JobSpec, ModelChoice
from tests.support.jobs import CORPUS, spec
from tests.support.nexus_caller import (
    BatchCall,
    BatchCaller,
    ResearchCall,
    ResearchCaller,
    cli,
    nexus_serve,
    ready,
)
from tests.support.processes import process_client, worker_env, worker_process

pytestmark = pytest.mark.slow

QUESTION = "How do Temporal and LangGraph make long AI jobs durable?"
JOB = {"max_subtasks": 2, "parallelism": 1, "validation_rounds": 0}
LATENCY_S = 0.3


@dataclass
class ResearchSide:
    """The research namespace (endpoint, worker environment) and a caller namespace."""

    env: dict[str, str]
    endpoint: str
    url: str  # the endpoint's Nexus HTTP address, for raw starts
    callers: Client
    caller_queue: str
    jobs: ResearchClient

    async def call(self, workflow: Any, call: Any) -> Any:
        return await self.callers.start_workflow(
            workflow, call, id=f"caller-{uuid.uuid4().hex[:8]}", task_queue=self.caller_queue
        )


@pytest.fixture(scope="module")
async def side(
    temporal_server: ServerRecord, temporal_client: Client, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ResearchSide]:
    tag = uuid.uuid4().hex[:6]
    home = tmp_path_factory.mktemp("nexus-research")
    env = worker_env(
        temporal_server.address, home, f"nx-{tag}-",
        DURABLE_RESEARCH_MODEL_FAKE_LATENCY_S=str(LATENCY_S), DURABLE_RESEARCH_WORKER_BATCH_PROCESSES="0",
    )  # fmt: skip
    callers = f"callers-{tag}"  # a second namespace on the session's server: usable at once
    await temporal_client.workflow_service.register_namespace(
        RegisterNamespaceRequest(namespace=callers, workflow_execution_retention_period=Duration(seconds=86400))
    )
    endpoint = f"research-{tag}"
    code, out, err = await cli(
        env, "nexus", "endpoint", "create", "--name", endpoint, "--caller-namespace", callers, "--json"
    )
    assert code == 0, err
    url = f"http://127.0.0.1:{temporal_server.http_port}{json.loads(out)['url_prefix']}/DurableResearchV1"
    caller_client = await Client.connect(
        temporal_server.address, namespace=callers, data_converter=pydantic_data_converter
    )
    queue = f"calls-{tag}"
    try:
        async with Worker(caller_client, task_queue=queue, workflows=[ResearchCaller, BatchCaller]):
            jobs = process_client(temporal_client, home, f"nx-{tag}-")
            yield ResearchSide(env, endpoint, url, caller_client, queue, jobs)
    finally:
        await cli(env, "nexus", "endpoint", "delete", endpoint)


@pytest.fixture(scope="module")
def front(side: ResearchSide, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """`durable-research nexus serve`: answers the calls alone, with no worker running the jobs."""
    with nexus_serve(side.env, tmp_path_factory.mktemp("nexus-front") / "nexus.log") as proc:
        ready(proc, "nexus ready")
        yield


async def test_caller_gets_the_report_though_the_research_worker_is_killed(side: ResearchSide) -> None:
    job_id = _job_id()
    request = ResearchRequest(spec=JobSpec.model_validate(spec(**JOB)), job_id=job_id)
    with worker_process(side.env) as first:
        call = await side.call(ResearchCaller.run, ResearchCall(endpoint=side.endpoint, request=request))
        job = side.jobs.attach(job_id)
        await asyncio.wait_for(_mid_subtask(job), 60)
        first.send_signal(signal.SIGKILL)
        first.wait()
    with worker_process(side.env):
        report = await call.result()
        result = await job.result()
        batch_request = BatchRequest(spec=BatchSpec(model=ModelChoice(provider="fake")), sources=[CORPUS])
        batch = await (
            await side.call(BatchCaller.run, BatchCall(endpoint=side.endpoint, request=batch_request))
        ).result()
        # The id names this job for ever: another call with it is refused, and nothing more starts.
        again = await side.call(ResearchCaller.run, ResearchCall(endpoint=side.endpoint, request=request))
        with pytest.raises(WorkflowFailureError) as refused:
            await again.result()
    assert result.status == "completed" and report == result.report
    assert await _retried_activities(job), "no activity was in flight when the worker was killed"
    assert side.jobs.artifacts is not None
    assert side.jobs.artifacts.get_text(report.key).startswith(f"# {report.title}")
    assert side.jobs.artifacts.get_text(batch.key).strip()
    handler_error = refused.value.cause.cause  # type: ignore[union-attr]
    assert isinstance(handler_error, nexusrpc.HandlerError) and handler_error.type == nexusrpc.HandlerErrorType.CONFLICT
    assert f"job id '{job_id}' is already in use" in handler_error.message


async def test_endpoint_create_refuses_a_taken_name_and_an_unknown_namespace(side: ResearchSide) -> None:
    taken, unknown = await asyncio.gather(
        cli(side.env, "nexus", "endpoint", "create", "--name", side.endpoint),
        cli(side.env, "nexus", "endpoint", "create", "--name", f"{side.endpoint}-x", "--caller-namespace", "nope-ns"),
    )
    for code, _, err in (taken, unknown):
        assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert f"a Nexus endpoint named '{side.endpoint}' already exists" in taken[2]
    assert "--caller-namespace 'nope-ns': no such namespace" in unknown[2]


@pytest.mark.usefixtures("front")
async def test_bad_spec_fails_the_call_at_once_with_the_cli_line(side: ResearchSide, temporal_client: Client) -> None:
    research_cases: list[tuple[dict[str, Any] | JobSpec, list[str]]] = [
        ({"question": ""}, ["run", ""]),  # the JSON a caller in any language sends
        (
            JobSpec(question=QUESTION, corpus=[CORPUS], graphs={"research": "nosuch@1"}),
            ["run", QUESTION, "--corpus", CORPUS, "--graph", "research=nosuch@1"],
        ),
        (
            JobSpec(question=QUESTION, corpus=["tests/data/no-such-folder"]),
            ["run", QUESTION, "--corpus", "tests/data/no-such-folder"],
        ),
    ]
    calls = [
        ResearchCall(endpoint=side.endpoint, request=ResearchRequest(spec=s, job_id=_job_id()))
        for s, _ in research_cases
    ]
    batch = BatchCall(
        endpoint=side.endpoint,
        request=BatchRequest(spec=BatchSpec(graph="nosuch@1"), sources=[CORPUS], job_id=_job_id()),
    )
    cli_args = [[*args, "--detach"] for _, args in research_cases] + [
        ["batch", CORPUS, "--graph", "nosuch@1", "--detach"]
    ]
    lines = await asyncio.gather(*(cli(side.env, *args) for args in cli_args))
    for call, (code, _, err) in zip([*calls, batch], lines, strict=True):
        assert code == 2, err
        started = time.monotonic()
        handle = await side.call(BatchCaller.run if call is batch else ResearchCaller.run, call)
        with pytest.raises(WorkflowFailureError) as failed:
            await handle.result()
        assert time.monotonic() - started < 10, "a refused start is not retried"
        cause = failed.value.cause
        assert isinstance(cause, NexusOperationError) and isinstance(cause.cause, nexusrpc.HandlerError)
        assert cause.cause.type == nexusrpc.HandlerErrorType.BAD_REQUEST and not cause.cause.retryable
        assert cause.cause.message == err.strip().removeprefix("error: ")
        with pytest.raises(RPCError) as missing:
            await temporal_client.get_workflow_handle(call.request.job_id or "").describe()
        assert missing.value.status == RPCStatusCode.NOT_FOUND, "a refused request started a workflow"


@pytest.mark.usefixtures("front")
async def test_a_retried_start_reaches_the_same_job(side: ResearchSide, temporal_client: Client) -> None:
    """What the caller's server does when a start's answer is lost: the same request id, again."""
    body = ResearchRequest(spec=JobSpec.model_validate(spec(**JOB))).model_dump_json()
    first, again = [await asyncio.to_thread(_start, f"{side.url}/research", body, "req-1") for _ in range(2)]
    assert first[0] == 201 and first == again, "the retry was answered with another operation"
    job_id = _workflow_id(first[1]["token"])
    try:
        assert (await temporal_client.get_workflow_handle(job_id).describe()).workflow_type == "ResearchJob"
        named = ResearchRequest(spec=JobSpec.model_validate(spec(**JOB)), job_id=job_id).model_dump_json()
        status, refusal = await asyncio.to_thread(_start, f"{side.url}/research", named, "req-2")
        assert status == 409, refusal  # another request for that id: CONFLICT, not retried
    finally:
        await temporal_client.get_workflow_handle(job_id).terminate("test over")


async def _mid_subtask(job: JobHandle) -> None:
    """Wait until the job (started by the Nexus handler) is inside its first subtask's model calls.

    The handler's jobs have the CLI's 10 s heartbeat timeout, so heartbeats (and the node they
    name) come every 8 s at most: the subtask's status is what tells, then its graph's latency.
    """
    while True:
        try:
            await job.handle.describe()
            break
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise
            await asyncio.sleep(0.05)
    async for progress in job.watch(interval_s=0.05):
        if any(t.status == "running" for t in progress.subtasks):
            await asyncio.sleep(LATENCY_S / 3)  # past retrieval, inside the first model call
            return
    raise AssertionError("the job ended before a subtask was seen running")


async def _retried_activities(job: JobHandle) -> list[str]:
    """The job's activities that needed a second attempt (the killed worker's)."""
    history = await job.handle.fetch_history()
    scheduled = {
        e.event_id: e.activity_task_scheduled_event_attributes.activity_id
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    }
    return [
        scheduled[e.activity_task_started_event_attributes.scheduled_event_id]
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
        and e.activity_task_started_event_attributes.attempt > 1
    ]


def _job_id() -> str:
    return f"nexus-{uuid.uuid4().hex[:8]}"


def _start(url: str, body: str, request_id: str) -> tuple[int, dict[str, Any]]:
    """A Nexus StartOperation over HTTP, as the caller's server sends it (no callback: nobody waits)."""
    headers = {"Content-Type": "application/json", "Nexus-Request-Id": request_id}
    request = urllib.request.Request(url, data=body.encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as refused:
        with refused:  # its response is a socket to close
            return refused.code, json.loads(refused.read() or b"{}")


def _workflow_id(token: str) -> str:
    """The workflow id inside a workflow-run operation token (base64url JSON)."""
    return str(json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))["wid"])
