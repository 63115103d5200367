"""The `DurableResearchV1` Nexus service: what another team's workflow calls to run research here.

Caller teams import this module (and nothing else of the project) to build a typed Nexus client::

    client = workflow.create_nexus_client(service=DurableResearchV1, endpoint=DEFAULT_ENDPOINT)
    result = await client.execute_operation(DurableResearchV1.research, ResearchRequest(spec=spec))

The service name carries its version: a change that breaks callers (an operation's input or output
loses or retypes a field) ships as `DurableResearchV2` beside this one, so a caller pins what it
was written against. Adding a field with a default is not such a change (the models decode it).

Both operations are asynchronous, backed by a workflow: they start the `ResearchJob` (or `BatchJob`)
workflow in the research namespace and complete, through Temporal, with its result, however long
it takes and whatever worker crashes happen meanwhile. A request the handler refuses (an invalid
spec, an unknown graph, a corpus with nothing readable) fails at once with a non-retryable
`BAD_REQUEST` handler error carrying the line `durable-research run` prints for it; nothing starts.
"""

from __future__ import annotations

from typing import Any

import nexusrpc
from pydantic import BaseModel, Field

from orchestration.shared.batch import BatchResult, BatchSpec
from orchestration.shared.messages import JobResult
from orchestration.shared.spec import JobSpec

SERVICE_NAME = "DurableResearchV1"
DEFAULT_ENDPOINT = "durable-research"
"""The endpoint name `durable-research nexus endpoint create` uses when not told otherwise."""


class ResearchRequest(BaseModel):
    """Start a research job.

    Attributes:
        spec: the job, as `durable-research run` would build it. A `JobSpec`, or its JSON form
            (what a caller in another language sends): a spec that does not validate still
            reaches the handler, which refuses it with the CLI's own line rather than a decoding error.
        job_id: names the job for ever (`durable-research status JOB`); a second request with the
            same id is refused. None: an id derived from the Nexus request id, so the caller's
            retries of one operation start one job.
    """

    # left_to_right: a valid spec becomes a JobSpec, an invalid one stays a dict for the handler to explain.
    spec: JobSpec | dict[str, Any] = Field(union_mode="left_to_right")
    job_id: str | None = None


class BatchRequest(BaseModel):
    """Start a batch: one graph over every document of `sources`, reduced into one report.

    Attributes:
        spec: the batch, as `durable-research batch` builds it (a `BatchSpec` or its JSON form).
        sources: folders, files, `pkgdocs:PKG` or `manifest:FILE`, read on the research side; the
            handler resolves them before it answers, so keep them to what it reads in a few seconds.
        job_id: the batch id; None: derived from the Nexus request id, as for `research`.
    """

    spec: BatchSpec | dict[str, Any] = Field(union_mode="left_to_right")
    sources: list[str] = Field(default_factory=list)
    job_id: str | None = None


@nexusrpc.service(name=SERVICE_NAME)
class DurableResearchV1:
    """Research jobs and batches as Nexus operations; each completes with its workflow's result."""

    research: nexusrpc.Operation[ResearchRequest, JobResult]
    batch: nexusrpc.Operation[BatchRequest, BatchResult]
