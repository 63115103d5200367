"""The one place where domain errors become Temporal `ApplicationError`s.

Retryable: provider 429/5xx/timeouts, connection trouble, anything unknown.
Non-retryable: misuse (ConfigError and its subclasses), 400/401/403/404, budgets,
invalid input, a superseded (zombie) attempt. The error type is the class name, which `names.NON_RETRYABLE` lists too,
so the retry policy agrees even if a message is re-raised elsewhere.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio.exceptions import ApplicationError

from orchestration.errors import ConfigError as OrchestrationConfigError
from reasoning.errors import BudgetExceededError, ModelError, SupersededAttemptError, map_provider_error
from reasoning.errors import ConfigError as ReasoningConfigError
from retrieval.errors import MemoryConfigError, SourceError


def to_application_error(exc: BaseException) -> ApplicationError:
    if isinstance(exc, ApplicationError):
        return exc
    name = type(exc).__name__
    if isinstance(exc, (ReasoningConfigError, MemoryConfigError, SourceError, OrchestrationConfigError)):
        return ApplicationError(str(exc), type=name, non_retryable=True)
    if isinstance(exc, BudgetExceededError):
        return ApplicationError(str(exc), type="BudgetExceededError", non_retryable=True)
    if isinstance(exc, SupersededAttemptError):
        # A zombie attempt: the server already ignores its result; retrying it can only be refused again.
        return ApplicationError(str(exc), type=name, non_retryable=True)
    if isinstance(exc, ValueError):
        return ApplicationError(f"invalid input: {exc}", type="InvalidInput", non_retryable=True)
    if isinstance(exc, ModelError) or _from_provider(exc):
        model_error = map_provider_error(exc)
        delay = model_error.retry_after_s
        return ApplicationError(
            str(model_error),
            type=type(model_error).__name__,
            non_retryable=not model_error.retryable,
            next_retry_delay=timedelta(seconds=delay) if delay else None,
        )
    message = str(exc)
    return ApplicationError(message if message.startswith(name) else f"{name}: {message}", type=name)


def _from_provider(exc: BaseException) -> bool:
    """Raised by a model client (openai SDK, httpx) or the network, not by our own code."""
    module = type(exc).__module__.split(".")[0]
    return module in {"openai", "httpx", "httpcore"} or isinstance(exc, (TimeoutError, ConnectionError))


def portable_failure(exc: BaseException) -> dict[str, object]:
    """`to_application_error(exc)` as plain data, to cross from a pool process to the activity."""
    error = to_application_error(exc)
    delay = error.next_retry_delay.total_seconds() if error.next_retry_delay else None
    return {"message": error.message, "type": error.type, "non_retryable": error.non_retryable, "delay_s": delay}


def from_portable(failure: dict[str, object]) -> ApplicationError:
    """The `ApplicationError` that `portable_failure` described."""
    delay = failure.get("delay_s")
    return ApplicationError(
        str(failure["message"]),
        type=str(failure["type"]) if failure.get("type") else None,
        non_retryable=bool(failure.get("non_retryable")),
        next_retry_delay=timedelta(seconds=float(delay)) if isinstance(delay, (int, float)) else None,
    )
