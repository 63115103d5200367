"""Errors raised by the reasoning package, split into misuse and runtime failure.

Hierarchy (a ``[module]`` tag names the module that defines a class, beside the code that
raises it; untagged classes are defined here)::

    ReasoningError
    ├── ConfigError                 misuse: fix the code or the settings, a retry cannot help
    │   ├── GraphNotFoundError      unknown "name@version"; lists what is registered
    │   ├── GraphLoadError          a bad "module:attr" path or entry point
    │   ├── GraphFactoryError       a registered factory raised; names the graph
    │   └── ToolNotFoundError       [tools.base] a spec or graph names an unregistered tool; lists what is
    ├── ModelError                  the model provider failed (`retryable` says if a retry can help)
    │   ├── RetryableModelError     429, 5xx, timeouts, connection errors
    │   └── NonRetryableModelError  400, 401, 403, 404, other client errors
    ├── ModelOutputError            a model reply did not follow the task's format
    ├── BudgetExceededError         a run used more steps, calls, tokens or seconds than allowed
    ├── SupersededAttemptError      a newer attempt owns the thread; this one must stop (checkpoints, call log)
    └── CheckpointBusyError         resume mode: the checkpoint store stayed locked past its busy timeout
"""

from __future__ import annotations


class ReasoningError(Exception):
    """Base class of every error the reasoning package raises on purpose."""


class ConfigError(ReasoningError):
    """Misuse: a retry with the same code and settings fails the same way."""


class GraphNotFoundError(ConfigError):
    """No graph is registered under the requested key."""

    def __init__(self, key: str, registered: list[str]) -> None:
        self.key = key
        self.registered = registered
        known = ", ".join(registered) or "nothing"
        super().__init__(
            f"No graph is registered as {key!r}. Registered: {known}. "
            "Register it with @register_graph(name, version, ...) or GraphRegistry.load('module:attr')."
        )


class GraphLoadError(ConfigError):
    """A `module:attr` path (or entry point) could not be loaded as graphs."""


class GraphFactoryError(ConfigError):
    """A graph factory raised while building its StateGraph."""

    def __init__(self, graph: str, cause: BaseException) -> None:
        self.graph = graph
        super().__init__(
            f"The factory of graph {graph!r} raised {type(cause).__name__}: {cause}. "
            "Fix the factory; a retry will fail the same way."
        )


class ModelError(ReasoningError):
    """A model provider call failed.

    Attributes:
        retryable: whether the same call may succeed later (rate limits, outages).
        status: the HTTP status when the provider answered, else None.
        retry_after_s: the provider's hint (Retry-After) for the next attempt, if any.
    """

    retryable: bool = True

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retry_after_s: float | None = None,
        retryable: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after_s = retry_after_s
        if retryable is not None:
            self.retryable = retryable


class RetryableModelError(ModelError):
    """Rate limit, server error, timeout or connection failure: retrying can help."""

    retryable = True


class NonRetryableModelError(ModelError):
    """Bad request, authentication, permission or not found: retrying cannot help."""

    retryable = False


class ModelOutputError(ReasoningError):
    """A model replied in a shape the task did not ask for."""


class BudgetExceededError(ReasoningError):
    """A run went over one of its budgets.

    Attributes:
        budget: which budget: "steps", "model_calls", "tokens" or "wall_s".
        limit: the configured limit.
        used: how much had been used when the run was stopped.
    """

    def __init__(self, budget: str, limit: float, used: float) -> None:
        self.budget = budget
        self.limit = limit
        self.used = used
        super().__init__(
            f"Budget {budget!r} exceeded: used {used:g}, limit {limit:g}. "
            "Raise the limit in Budgets or make the graph do less."
        )


class SupersededAttemptError(ReasoningError):
    """A newer attempt of the same activity owns the checkpoint thread; this attempt's writes are refused.

    Raised to an attempt that outlived its heartbeat timeout (a paused process, a
    partition) so it stops instead of forking the thread's checkpoint chain. Retrying
    this attempt cannot help: the newer attempt carries the work.

    Attributes:
        thread_id: the checkpoint thread.
        attempt: the refused attempt.
        owner: the attempt that owns the thread (None if unknown).
    """

    retryable = False

    def __init__(self, thread_id: str, attempt: int, owner: int | None) -> None:
        self.thread_id = thread_id
        self.attempt = attempt
        self.owner = owner
        super().__init__(
            f"Superseded attempt {attempt} < owner {owner} of checkpoint thread {thread_id!r}: "
            "a newer attempt runs this graph, so this one stops (no more writes or model calls). "
            "Nothing to fix; a retry cannot help."
        )


class CheckpointBusyError(ReasoningError):
    """The checkpoint database stayed locked by another writer past the busy timeout.

    Usually a paused process holding a write transaction; a retry later can succeed.
    """

    retryable = True


RETRYABLE_STATUSES = frozenset({408, 409, 425, 429})
"""HTTP statuses worth retrying besides every 5xx, for model providers and webhooks alike.

408 Request Timeout and 429 Too Many Requests say "later"; 425 Too Early asks for a replay;
409 Conflict is what idempotency-keyed APIs (OpenAI's, Stripe-style webhooks) answer while
a request with the same key is still in flight. Every other 4xx fails the same way again.
"""


def is_retryable_status(status: int) -> bool:
    """True for the statuses in `RETRYABLE_STATUSES` and every 5xx."""
    return status in RETRYABLE_STATUSES or status >= 500


def map_provider_error(exc: BaseException) -> ModelError:
    """Map any provider exception (openai SDK, httpx, stdlib) to a typed ModelError.

    `is_retryable_status` statuses, timeouts and connection failures are retryable; 400, 401, 403, 404
    and other client errors are not. Unknown exceptions are not retryable, because a
    retry of a programming error fails the same way. A ModelError passes through.
    """
    if isinstance(exc, ModelError):
        return exc
    status, retry_after = _status_and_retry_after(exc)
    name = type(exc).__name__
    if status is not None:
        retryable = is_retryable_status(status)
        cls = RetryableModelError if retryable else NonRetryableModelError
        return cls(f"Model provider answered {status} ({name}): {exc}", status=status, retry_after_s=retry_after)
    if _is_transient(exc):
        return RetryableModelError(f"Model provider unreachable or slow ({name}): {exc}")
    return NonRetryableModelError(f"Model call failed ({name}): {exc}")


def _status_and_retry_after(exc: BaseException) -> tuple[int | None, float | None]:
    # openai.APIStatusError has .status_code and .response; httpx.HTTPStatusError has .response.
    response = getattr(exc, "response", None)
    status = getattr(exc, "status_code", None) or getattr(response, "status_code", None)
    if not isinstance(status, int):
        return None, None
    headers = getattr(response, "headers", None) or {}
    raw = headers.get("retry-after") if hasattr(headers, "get") else None
    try:
        retry_after = float(raw) if raw is not None else None
    except ValueError:
        retry_after = None  # an HTTP date; not worth parsing for a hint
    return status, retry_after


def _is_transient(exc: BaseException) -> bool:
    if isinstance(exc, TimeoutError | ConnectionError):
        return True
    try:
        import httpx
        import openai
    except ImportError:  # pragma: no cover - both ship with langchain-openai
        return False
    transient = (
        openai.APITimeoutError,
        openai.APIConnectionError,
        httpx.TimeoutException,
        httpx.TransportError,
    )
    return isinstance(exc, transient)
