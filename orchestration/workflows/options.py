"""Activity options per kind of work: task queue, timeouts, bounded retries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.workflow import ActivityCancellationType

from orchestration.shared import names
from orchestration.shared.messages import TaskQueues, Tuning
from orchestration.workflows import patches

# Ingest embeds a whole corpus in one activity: hours for a large one on a CPU.
INGEST_TIMEOUT = timedelta(hours=2)
# Ingest heartbeats once per embedded batch; a slow batch must not look like a dead worker.
INGEST_HEARTBEAT_FLOOR = timedelta(seconds=60)
# Publish steps are a file write, an upsert of one report, a webhook POST (10 s timeout).
IO_TIMEOUT = timedelta(minutes=2)
# Retries back off to at most a minute: a research job waits for a provider, not forever.
MAX_RETRY_INTERVAL = timedelta(seconds=60)


# The UI cuts summaries short anyway; the server stores them with the scheduling event.
SUMMARY_MAX_CHARS = 200


@dataclass(frozen=True)
class CallOptions:
    """The options of one `workflow.execute_activity` call; `kwargs()` spreads them into it.

    Attributes:
        task_queue: where the activity runs (hosts specialise by queue).
        start_to_close_timeout: one attempt's limit.
        retry_policy: bounded attempts, non-retryable error types from `names.NON_RETRYABLE`.
        heartbeat_timeout: how fast a dead worker is noticed (None: the activity does not beat).
        cancellation_type: how a cancel waits for the activity (None: the SDK default).
    """

    task_queue: str
    start_to_close_timeout: timedelta
    retry_policy: RetryPolicy
    heartbeat_timeout: timedelta | None = None
    cancellation_type: ActivityCancellationType | None = None

    def kwargs(self, summary: str | None = None) -> dict[str, Any]:
        """Keyword arguments for `execute_activity`/`start_activity` (unset ones left out).

        Args:
            summary: what the Temporal UI shows beside the activity (subtask, graph). It is
                stored in the scheduling command's user metadata, so it came with a patch:
                histories recorded before it replay without one.
        """
        out: dict[str, Any] = {
            "task_queue": self.task_queue,
            "start_to_close_timeout": self.start_to_close_timeout,
            "retry_policy": self.retry_policy,
        }
        if self.heartbeat_timeout is not None:
            out["heartbeat_timeout"] = self.heartbeat_timeout
        if self.cancellation_type is not None:
            out["cancellation_type"] = self.cancellation_type
        if summary and workflow.patched(patches.ACTIVITY_SUMMARIES):
            out["summary"] = summary[:SUMMARY_MAX_CHARS]
        return out


@dataclass(frozen=True)
class ActivityOptions:
    """Options per kind of work, from the job's task queues and the operator's tuning."""

    queues: TaskQueues
    tuning: Tuning

    def _retry(self, attempts: int) -> RetryPolicy:
        # Temporal's default is unlimited attempts; a research job must end.
        return RetryPolicy(
            initial_interval=timedelta(seconds=self.tuning.retry_initial_s),
            backoff_coefficient=2.0,
            maximum_interval=MAX_RETRY_INTERVAL,
            maximum_attempts=attempts,
            non_retryable_error_types=names.NON_RETRYABLE,
        )

    def subtask(self) -> CallOptions:
        """A whole graph: heartbeats each node, so a dead worker is noticed in one timeout."""
        return CallOptions(
            task_queue=self.queues.reasoning,
            start_to_close_timeout=timedelta(seconds=self.tuning.subtask_timeout_s),
            heartbeat_timeout=timedelta(seconds=self.tuning.heartbeat_timeout_s),
            retry_policy=self._retry(self.tuning.reasoning_attempts),
            # Wait until the graph saw the cancel, so compensation never races it.
            cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
        )

    def reasoning(self) -> CallOptions:
        """Plan, validate, write: as a subtask, but a cancel does not wait for the graph."""
        return CallOptions(
            task_queue=self.queues.reasoning,
            start_to_close_timeout=timedelta(seconds=self.tuning.subtask_timeout_s),
            heartbeat_timeout=timedelta(seconds=self.tuning.heartbeat_timeout_s),
            retry_policy=self._retry(self.tuning.reasoning_attempts),
            cancellation_type=ActivityCancellationType.TRY_CANCEL,
        )

    def ingest(self) -> CallOptions:
        return CallOptions(
            task_queue=self.queues.io,
            start_to_close_timeout=INGEST_TIMEOUT,
            heartbeat_timeout=max(INGEST_HEARTBEAT_FLOOR, timedelta(seconds=self.tuning.heartbeat_timeout_s)),
            retry_policy=self._retry(self.tuning.io_attempts),
        )

    def tool(self) -> CallOptions:
        """A lifted tool call: its own activity, retried like a graph, on the reasoning queue."""
        return CallOptions(
            task_queue=self.queues.reasoning,
            start_to_close_timeout=timedelta(seconds=self.tuning.subtask_timeout_s),
            heartbeat_timeout=timedelta(seconds=self.tuning.heartbeat_timeout_s),
            retry_policy=self._retry(self.tuning.reasoning_attempts),
        )

    def io(self) -> CallOptions:
        seconds = self.tuning.io_timeout_s
        return CallOptions(
            task_queue=self.queues.io,
            start_to_close_timeout=timedelta(seconds=seconds) if seconds else IO_TIMEOUT,
            retry_policy=self._retry(self.tuning.io_attempts),
        )
