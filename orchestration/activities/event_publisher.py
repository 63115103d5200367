"""Publishes a running graph's live events to its job's event stream, in batches.

The runner hands `RunEvent`s to `sink` (from the event loop or LangGraph's worker
threads); they become `JobEvent`s stamped with the activity id and attempt and go to the
workflow through `WorkflowStreamClient`: one signal per batch, deduplicated by publisher
and sequence. Streamed tokens are joined into one item per `TOKEN_INTERVAL`, so a fast
provider costs a few items a second, not one per token. A retried attempt publishes a
"retry" marker first.

Each signal is about four events in the job's history (the signal and the workflow task
it wakes), while an activity without events costs three however long it runs. So batches
get rarer as an activity ages (`flush_interval`): every second at first, every 30 s after
five minutes; an hour-long graph adds about 160 signals, not 3,600 (and `MAX_BATCH` items
waiting flush at once, which bounds a signal's size).

Telemetry never takes a job down: a stream that cannot be reached (the workflow closed,
the server restarting) costs events, never the activity; a final flush waits at most
`CLOSE_TIMEOUT`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from datetime import timedelta
from typing import Any

from temporalio import activity
from temporalio.contrib.workflow_streams import TopicHandle, WorkflowStreamClient

from orchestration.shared.events import EVENTS_TOPIC, JobEvent
from reasoning.events import RunEvent

log = logging.getLogger(__name__)

# Seconds between batches: watchers see events about this late at most.
MIN_INTERVAL_S = 1.0
MAX_INTERVAL_S = 30.0
# A batch of this many items goes at once (about 300 bytes each: far below the payload limits).
MAX_BATCH = 500
# The client's own timer never fires first: `flush_interval` decides (an hour is "never" here).
_CLIENT_INTERVAL = timedelta(hours=1)
TOKEN_INTERVAL = 0.25
TOKEN_MAX_CHARS = 2000
CLOSE_TIMEOUT = 5.0


class ActivityEventPublisher:
    """Use as `async with ActivityEventPublisher(graph, subtask) as events:` inside an activity;
    pass `events.sink` to the runner."""

    def __init__(self, graph: str, subtask: str | None = None) -> None:
        info = activity.info()
        self._base: dict[str, Any] = {
            "activity_id": info.activity_id,
            "attempt": info.attempt,
            "graph": graph,
            "subtask": subtask,
        }
        self._client: WorkflowStreamClient | None = None
        self._topic: TopicHandle[JobEvent] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = 0
        self._tokens: list[str] = []
        self._token_node: str | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._started = self._flushed = time.monotonic()

    async def __aenter__(self) -> ActivityEventPublisher:
        self._loop, self._loop_thread = asyncio.get_running_loop(), threading.get_ident()
        try:
            self._client = WorkflowStreamClient.from_within_activity(
                batch_interval=_CLIENT_INTERVAL, max_batch_size=MAX_BATCH
            )
            await self._client.__aenter__()
            self._topic = self._client.topic(EVENTS_TOPIC, type=JobEvent)
        except Exception as exc:  # never the job's problem
            log.warning("job events off for this activity: %s", exc)
            self._client = self._topic = None
            return self
        attempt = int(self._base["attempt"])
        if attempt > 1:  # watchers drop what earlier attempts of this activity reported
            self._publish(JobEvent(kind="retry", detail=f"attempt {attempt} supersedes attempt {attempt - 1}"))
        self._ticker = asyncio.create_task(self._tick())
        return self

    async def __aexit__(self, *_exc: object) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        self._flush_tokens()
        if self._client is None:
            return
        try:
            await asyncio.wait_for(self._client.__aexit__(None, None, None), CLOSE_TIMEOUT)
        except Exception as exc:  # lost events, never a failed activity
            log.warning("could not flush job events: %s", exc)

    def sink(self, event: RunEvent) -> None:
        """The runner's event callback: safe from any thread."""
        if self._loop is None or self._topic is None:
            return
        if threading.get_ident() == self._loop_thread:
            self._add(event)
        else:
            self._loop.call_soon_threadsafe(self._add, event)

    def _add(self, event: RunEvent) -> None:
        if event.kind == "tokens":
            if self._token_node != event.node:
                self._flush_tokens()
            self._tokens.append(event.text)
            self._token_node = event.node
            if sum(map(len, self._tokens)) >= TOKEN_MAX_CHARS:
                self._flush_tokens()
            return
        self._flush_tokens()  # tokens come before the model call that produced them
        self._publish(JobEvent(**event.model_dump(exclude={"text"})))

    def _flush_tokens(self) -> None:
        if self._tokens:
            text, self._tokens = "".join(self._tokens), []
            self._publish(JobEvent(kind="tokens", node=self._token_node, text=text))

    def _publish(self, event: JobEvent) -> None:
        if self._topic is None:
            return
        stamped = event.model_copy(update={**self._base, "at": time.time()})
        try:
            self._topic.publish(stamped)
        except Exception as exc:
            log.warning("job event dropped: %s", exc)

    async def _tick(self) -> None:
        """Join pending tokens into an item, and send a batch when `flush_interval` says so."""
        while True:
            await asyncio.sleep(TOKEN_INTERVAL)
            self._flush_tokens()
            now = time.monotonic()
            if self._client is None or now - self._flushed < flush_interval(now - self._started):
                continue
            self._flushed = now
            try:
                await self._client.flush()
            except Exception as exc:  # kept for the next flush (same sequence), never the activity's problem
                log.warning("job events not sent yet: %s", exc)


def flush_interval(age_s: float) -> float:
    """Seconds between batches for an activity running for `age_s` seconds: a tenth of its
    age, at least `MIN_INTERVAL_S` and at most `MAX_INTERVAL_S`."""
    return min(MAX_INTERVAL_S, max(MIN_INTERVAL_S, age_s / 10))
