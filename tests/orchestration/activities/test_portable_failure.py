"""A reduce step that fails in a pool process reaches Temporal as the same ApplicationError it would in the worker."""

from __future__ import annotations

import pickle
from datetime import timedelta

import pytest

from orchestration.activities.errors import from_portable, portable_failure, to_application_error
from reasoning.errors import BudgetExceededError, ConfigError, ModelError


@pytest.mark.parametrize(
    "exc",
    [
        ConfigError("no such graph"),
        BudgetExceededError("steps", 25, 25),
        ModelError("rate limited", status=429, retry_after_s=3.0),
        ModelError("bad request", status=400, retryable=False),
        RuntimeError("disk full"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_a_failure_crosses_a_process_boundary_unchanged(exc: Exception) -> None:
    direct = to_application_error(exc)
    crossed = from_portable(pickle.loads(pickle.dumps(portable_failure(exc))))
    assert (crossed.message, crossed.type, crossed.non_retryable) == (direct.message, direct.type, direct.non_retryable)
    assert crossed.next_retry_delay == direct.next_retry_delay


def test_a_providers_retry_hint_survives() -> None:
    crossed = from_portable(portable_failure(ModelError("slow down", status=429, retry_after_s=3.0)))
    assert crossed.next_retry_delay == timedelta(seconds=3.0)
    assert not crossed.non_retryable
