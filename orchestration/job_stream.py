"""Read a job's event stream from outside: its end offset, and its events from an offset on.

A thin layer over `WorkflowStreamClient.subscribe`: it follows continue-as-new, long-polls
a running job by update and drains a closed one by query, then ends. Each event comes
with its global offset; a watcher that disconnects resumes with `from_offset=last + 1`
and sees every later event once. Offsets older than the job's retention
(`EVENT_RETENTION`) were truncated: reading starts at the oldest kept one, and the gap is
reported as a `StreamGap` first.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

from temporalio.client import Client
from temporalio.contrib.workflow_streams import WorkflowStreamClient
from temporalio.service import RPCError, RPCStatusCode

from orchestration.errors import NoStreamError, NoSuchJobError, OffsetBeyondEndError
from orchestration.shared.events import EVENTS_TOPIC, JobEvent

# A query needs a worker; without one it would hang until the RPC deadline.
QUERY_TIMEOUT_S = 10.0


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
        """Refuse an offset past the end (before any poll adds to the job's history); the end."""
        if offset < 0:
            raise OffsetBeyondEndError(f"--from {offset}: an offset is 0 or more")
        end = await self.end_offset()
        if offset > end:
            raise OffsetBeyondEndError(
                f"--from {offset} is beyond the end of job {self.job_id}'s events (next offset: {end})"
            )
        return end

    async def events(
        self, from_offset: int = 0, *, poll_cooldown: timedelta = timedelta(milliseconds=100)
    ) -> AsyncIterator[OffsetEvent | StreamGap]:
        """Events from `from_offset` on, until the job closes (a running job: as they come)."""
        expected = from_offset
        async for item in self._stream.subscribe(
            [EVENTS_TOPIC], from_offset=from_offset, result_type=JobEvent, poll_cooldown=poll_cooldown
        ):
            if item.offset > expected:
                yield StreamGap(expected, item.offset)
            if item.offset < expected:  # never twice, whatever the poll path did
                continue
            expected = item.offset + 1
            yield OffsetEvent(item.offset, item.data)
