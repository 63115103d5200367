"""Activity options per kind of work: task queue, timeouts, bounded retries."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio.common import RetryPolicy
from temporalio.workflow import ActivityCancellationType

from orchestration.shared import names
from orchestration.shared.messages import TaskQueues, Tuning


class ActivityOptions:
    """Builds `execute_activity` keyword arguments from the job's queues and tuning."""

    def __init__(self, queues: TaskQueues, tuning: Tuning) -> None:
        self._q = queues
        self._t = tuning

    def _retry(self, attempts: int) -> RetryPolicy:
        # Temporal's default is unlimited attempts; a research job must end.
        return RetryPolicy(
            initial_interval=timedelta(seconds=self._t.retry_initial_s),
            backoff_coefficient=2.0,
            maximum_interval=timedelta(seconds=60),
            maximum_attempts=attempts,
            non_retryable_error_types=names.NON_RETRYABLE,
        )

    def subtask(self) -> dict[str, Any]:
        """A whole graph: heartbeats each node, so a dead worker is noticed in one timeout."""
        return {
            "task_queue": self._q.reasoning,
            "start_to_close_timeout": timedelta(seconds=self._t.subtask_timeout_s),
            "heartbeat_timeout": timedelta(seconds=self._t.heartbeat_timeout_s),
            "retry_policy": self._retry(self._t.reasoning_attempts),
            # Wait until the graph saw the cancel, so compensation never races it.
            "cancellation_type": ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
        }

    def reasoning(self) -> dict[str, Any]:
        return self.subtask() | {"cancellation_type": ActivityCancellationType.TRY_CANCEL}

    def ingest(self) -> dict[str, Any]:
        return {
            "task_queue": self._q.io,
            "start_to_close_timeout": timedelta(hours=2),
            "heartbeat_timeout": timedelta(seconds=max(60.0, self._t.heartbeat_timeout_s)),
            "retry_policy": self._retry(self._t.io_attempts),
        }

    def io(self) -> dict[str, Any]:
        return {
            "task_queue": self._q.io,
            "start_to_close_timeout": timedelta(minutes=2),
            "retry_policy": self._retry(self._t.io_attempts),
        }
