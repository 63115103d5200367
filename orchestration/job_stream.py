"""Read a job's event stream from outside: its end offset, and its events from an offset on.

Reading never writes to the job's history. The stream's long-poll is an update
(`WorkflowStreamClient.subscribe`), and every update adds an accepted and a completed
event plus a workflow task to the history of the job it watches: measured, one live
watcher added more events than the stream's own batches (see docs/concepts/events.md). So a watcher here
reads with the stream's read-only poll query instead, every `POLL_INTERVAL_S` when it has
caught up, straight away while there is more; a query targets the job's latest run, so it
follows continue-as-new, and it reads a closed job the same way. Each event comes with its
global offset; a watcher that disconnects resumes with `from_offset=last + 1` and sees
every later event once. Offsets older than the job's retention (`Tuning.event_retention`)
were truncated: reading starts at the oldest kept one, and the gap is reported first.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from temporalio.api.common.v1 import Payload
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.contrib.workflow_streams import PollInput, PollResult, WorkflowStreamClient
from temporalio.service import RPCError, RPCStatusCode

from orchestration.errors import NoStreamError, NoSuchJobError, OffsetBeyondEndError
from orchestration.shared.events import EVENTS_TOPIC, JobEvent

# A query needs a worker; without one it would hang until the RPC deadline.
QUERY_TIMEOUT_S = 10.0
# How often a watcher that caught up asks again: events arrive in batches about this often.
POLL_INTERVAL_S = 0.5
# The stream's read-only poll (WorkflowStream registers it beside the update of the same name).
_POLL_QUERY = "__temporal_workflow_stream_poll"
# A query no worker took in time, or a server restarting: the watch waits instead of failing.
_WAIT_AND_RETRY = frozenset({RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.UNAVAILABLE, RPCStatusCode.CANCELLED})


@dataclass(frozen=True)
class StreamGap:
    """Events `start` up to `end` (exclusive) were truncated before this watcher read them."""

    start: int
    end: int


@dataclass(frozen=True)
class OffsetEvent:
    """One event and its global offset in the job's stream."""

    offset: int
    event: JobEvent


class JobStream:
    """The event stream of job `job_id`."""

    def __init__(self, client: Client, job_id: str) -> None:
        self.job_id = job_id
        self._client = client
        self._stream = WorkflowStreamClient.create(client, job_id)

    async def end_offset(self) -> int:
        """The offset the next event will get; raises NoSuchJobError, NoStreamError."""
        handle = self._client.get_workflow_handle(self.job_id)
        try:
            await handle.describe()
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                raise NoSuchJobError(f"no job named '{self.job_id}'; `durable-research jobs` lists them") from None
            raise
        try:
            return await asyncio.wait_for(self._stream.get_offset(), QUERY_TIMEOUT_S)
        except TimeoutError:
            raise NoStreamError(
                f"no worker answered for job {self.job_id}; start one with `durable-research worker`"
            ) from None
        except Exception as exc:  # the query is unknown: a job from before event streams
            raise NoStreamError(f"job {self.job_id} has no event stream ({exc})") from None

    async def check_offset(self, offset: int) -> int:
        """Refuse an offset past the end (a typo, or another job's offset); returns the end."""
        if offset < 0:
            raise OffsetBeyondEndError(f"--from {offset}: an offset is 0 or more")
        end = await self.end_offset()
        if offset > end:
            raise OffsetBeyondEndError(
                f"--from {offset} is beyond the end of job {self.job_id}'s events (next offset: {end})"
            )
        return end

    async def events(
        self, from_offset: int = 0, *, interval_s: float = POLL_INTERVAL_S
    ) -> AsyncIterator[OffsetEvent | StreamGap]:
        """Events from `from_offset` on, until the job closes (a running job: as they come)."""
        handle = self._client.get_workflow_handle(self.job_id)  # no run id: the latest run
        offset, closing = from_offset, False
        while True:
            try:
                result = await handle.query(
                    _POLL_QUERY, PollInput(topics=[EVENTS_TOPIC], from_offset=offset), result_type=PollResult
                )
            except RPCError as err:
                if err.status not in _WAIT_AND_RETRY:
                    raise
                await asyncio.sleep(interval_s)  # no worker answered in time (one died, or restarts): ask again
                continue
            for wire in result.items:
                if wire.offset < offset:  # never twice
                    continue
                if wire.offset > offset:
                    yield StreamGap(offset, wire.offset)
                yield OffsetEvent(wire.offset, self._decode(wire.data))
                offset = wire.offset + 1
            if result.next_offset > offset and not result.more_ready:  # truncated, nothing kept after it
                yield StreamGap(offset, result.next_offset)
                offset = result.next_offset
            if result.more_ready or result.items:
                continue
            if closing:
                return
            # Caught up: a closed job gets one more read (what it published while closing), then ends.
            closing = await self._closed(handle)
            if not closing:
                await asyncio.sleep(interval_s)

    def _decode(self, wire: str) -> JobEvent:
        payload = Payload.FromString(base64.b64decode(wire))  # the stream's wire form of one item
        event: JobEvent = self._client.data_converter.payload_converter.from_payload(payload, JobEvent)
        return event

    @staticmethod
    async def _closed(handle: Any) -> bool:
        status = (await handle.describe()).status
        return status not in (None, WorkflowExecutionStatus.RUNNING, WorkflowExecutionStatus.CONTINUED_AS_NEW)
