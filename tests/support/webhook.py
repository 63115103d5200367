"""A local webhook receiver for publish tests: answers with the statuses it is told to."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.support.http_stub import serve


@dataclass
class Webhook:
    url: str
    statuses: list[int]
    default: int = 200
    received: list[dict[str, Any]] = field(default_factory=list)


@contextlib.contextmanager
def webhook(*statuses: int, default: int = 200) -> Iterator[Webhook]:
    """Answer each POST with the next status in `statuses`, then `hook.default` (settable)."""
    hook = Webhook(url="", statuses=list(statuses), default=default)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            hook.received.append(json.loads(body) | {"_key": self.headers.get("Idempotency-Key")})
            self.send_response(hook.statuses.pop(0) if hook.statuses else hook.default)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    with serve(Handler) as port:
        hook.url = f"http://127.0.0.1:{port}/hook"
        yield hook
