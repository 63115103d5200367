"""Provider errors map to typed errors that say whether a retry can help."""

from __future__ import annotations

import httpx
import openai
import pytest

from reasoning import (
    ModelError,
    NonRetryableModelError,
    RetryableModelError,
    map_provider_error,
)
from reasoning.errors import BudgetExceededError

_REQUEST = httpx.Request("POST", "http://127.0.0.1:9/v1/chat/completions")


def _status(code: int, headers: dict[str, str] | None = None) -> openai.APIStatusError:
    response = httpx.Response(code, request=_REQUEST, headers=headers, json={"error": "x"})
    cls = {
        400: openai.BadRequestError,
        401: openai.AuthenticationError,
        403: openai.PermissionDeniedError,
        404: openai.NotFoundError,
        429: openai.RateLimitError,
    }.get(code, openai.InternalServerError)
    return cls("boom", response=response, body=None)


@pytest.mark.parametrize("code", [429, 500, 502, 503])
def test_rate_limits_and_server_errors_are_retryable(code: int) -> None:
    err = map_provider_error(_status(code))
    assert isinstance(err, RetryableModelError) and err.retryable and err.status == code


@pytest.mark.parametrize("code", [400, 401, 403, 404])
def test_client_errors_are_not_retryable(code: int) -> None:
    err = map_provider_error(_status(code))
    assert isinstance(err, NonRetryableModelError) and not err.retryable and err.status == code


def test_retry_after_is_kept() -> None:
    assert map_provider_error(_status(429, {"retry-after": "7"})).retry_after_s == 7.0


@pytest.mark.parametrize(
    "exc",
    [
        openai.APITimeoutError(request=_REQUEST),
        openai.APIConnectionError(request=_REQUEST),
        httpx.ConnectError("refused", request=_REQUEST),
        httpx.ReadTimeout("slow", request=_REQUEST),
        TimeoutError("slow"),
        ConnectionResetError("reset"),
    ],
)
def test_timeouts_and_connection_failures_are_retryable(exc: Exception) -> None:
    assert isinstance(map_provider_error(exc), RetryableModelError)


def test_httpx_status_errors_and_unknown_errors() -> None:
    response = httpx.Response(503, request=_REQUEST)
    http_err = httpx.HTTPStatusError("unavailable", request=_REQUEST, response=response)
    assert map_provider_error(http_err).retryable
    assert (
        map_provider_error(
            httpx.HTTPStatusError("nf", request=_REQUEST, response=httpx.Response(404, request=_REQUEST))
        ).status
        == 404
    )
    assert not map_provider_error(ValueError("bug")).retryable
    original = RetryableModelError("kept", status=500)
    assert map_provider_error(original) is original
    assert issubclass(RetryableModelError, ModelError)
    assert not issubclass(BudgetExceededError, ModelError)
