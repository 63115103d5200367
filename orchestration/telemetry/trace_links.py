"""Where to read a job's trace: its session in Arize Phoenix, which groups a job's traces by ``session.id``.

Workers put the job id on their spans as ``session.id`` (`job_spans`), so a job's traces, one
per client start (and a new one per continue-as-new), are one Phoenix session, reachable from
the job id alone through Phoenix's redirect route. `find_job_trace` asks Phoenix's REST API
whether it has that session, so a notebook or a script can say what to do when it has not.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Literal

PHOENIX_URL = "http://127.0.0.1:6006"
"""`scripts/phoenix.sh` and the compose service serve Phoenix here (UI and REST API)."""


def phoenix_session_url(job_id: str, phoenix_url: str = PHOENIX_URL) -> str:
    """The Phoenix page of the job's session (its traces, their spans, tokens and cost)."""
    return f"{phoenix_url.rstrip('/')}/redirects/sessions/{urllib.parse.quote(job_id, safe='')}"


@dataclass(frozen=True)
class JobTrace:
    """What Phoenix has of a job.

    Attributes:
        url: the job's session page.
        state: "found"; "missing" (Phoenix is up but has no span of the job: its workers did not
            export there, or not yet); "unreachable" (no Phoenix at that address).
        trace_ids: the job's traces, oldest first.
        tokens: input and output tokens of the model calls Phoenix holds.
    """

    url: str
    state: Literal["found", "missing", "unreachable"]
    trace_ids: tuple[str, ...] = ()
    tokens: tuple[int, int] = (0, 0)


def find_job_trace(job_id: str, phoenix_url: str = PHOENIX_URL, *, timeout_s: float = 2.0) -> JobTrace:
    """Ask Phoenix (``GET /v1/sessions/{job_id}``) for the job's traces; never raises for a Phoenix that is down."""
    url = phoenix_session_url(job_id, phoenix_url)
    api = f"{phoenix_url.rstrip('/')}/v1/sessions/{urllib.parse.quote(job_id, safe='')}"
    try:
        with urllib.request.urlopen(api, timeout=timeout_s) as response:
            data = json.load(response)["data"]
    except urllib.error.HTTPError as exc:
        return JobTrace(url, "missing" if exc.code == 404 else "unreachable")
    except (OSError, ValueError, KeyError):
        return JobTrace(url, "unreachable")
    traces = tuple(str(t["trace_id"]) for t in data.get("traces", []))
    tokens = (int(data.get("token_count_prompt") or 0), int(data.get("token_count_completion") or 0))
    return JobTrace(url, "found", traces, tokens)
