"""An OpenAI-compatible model stub in its own process: content-addressed, slow on purpose, logged.

Run it as ``python -m experiments.recovery.stub --port 0 --latency-ms 50 --log calls.jsonl``;
it prints ``PORT <n>`` on stdout once it listens on 127.0.0.1.

Every reply, and its token counts, is a pure function of the sha256 of the normalised
prompt, so a re-executed call after a crash gets the very reply the first attempt got
and the final answer of a crashed run can be compared with a clean one by hash. The
stub lives outside the processes the controller kills, so its call log is the ground
truth for "how many model calls did this run pay for". Callers name their arm, run
and process in ``X-Recovery-*`` headers. ``GET /v1/inflight`` lists calls in progress,
and with ``--events HOST:PORT`` each call's start is also pushed to the controller so it
can kill a worker *inside* a model call.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import socket
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import typer

_WORDS = tuple(
    [
        "durable",
        "checkpoint",
        "retry",
        "activity",
        "worker",
        "heartbeat",
        "graph",
        "node",
        "state",
        "replay",
        "history",
        "latency",
        "crash",
        "resume",
        "supervisor",
        "queue",
        "evidence",
        "claim",
        "memory",
        "upsert",
        "idempotent",
        "ledger",
        "superstep",
        "branch",
        "timeout",
        "budget",
        "token",
        "answer",
        "critique",
        "revise",
        "plan",
        "analysis",
    ]
)


def normalise(messages: list[dict[str, Any]]) -> str:
    """The part of a request that addresses the reply: roles and collapsed content."""
    parts = []
    for message in messages:
        content = message.get("content", "")
        if isinstance(content, list):
            content = " ".join(str(c.get("text", "")) for c in content if isinstance(c, dict))
        parts.append(f"{message.get('role', '')}: {' '.join(str(content).split())}")
    return "\n".join(parts)


def prompt_hash(messages: list[dict[str, Any]]) -> str:
    """sha256 hex digest of the normalised prompt."""
    return hashlib.sha256(normalise(messages).encode()).hexdigest()


def reply_for(digest: str) -> tuple[str, int]:
    """The reply text and completion token count addressed by a prompt hash."""
    raw = bytes.fromhex(digest)
    n_words = 12 + raw[0] % 20
    words = [_WORDS[(raw[i % 32] + i) % len(_WORDS)] for i in range(n_words)]
    return f"[{digest[:8]}] " + " ".join(words), n_words + 4


class _Stub:
    """Shared state of the server threads: call log, attempt counts, in-flight calls."""

    def __init__(self, latency_s: float, log_path: Path, events: str | None) -> None:
        self.latency_s = latency_s
        self.lock = threading.Lock()
        self.log = log_path.open("a", buffering=1)
        self.attempts: Counter[tuple[str, str, str]] = Counter()
        self.inflight: dict[int, dict[str, Any]] = {}
        self.next_id = 0
        self.events = events
        self._events_sock: socket.socket | None = None

    def begin(self, record: dict[str, Any]) -> int:
        with self.lock:
            key = (record["arm"], record["run"], record["hash"])
            self.attempts[key] += 1
            record["attempt"] = self.attempts[key]
            self.next_id += 1
            self.inflight[self.next_id] = record
            self._push({"event": "call_begin", **record})
            return self.next_id

    def end(self, call_id: int, record: dict[str, Any]) -> None:
        with self.lock:
            self.inflight.pop(call_id, None)
            self.log.write(json.dumps(record) + "\n")

    def _push(self, event: dict[str, Any]) -> None:
        """Tell the controller a call started; never fail a call because it is gone."""
        if self.events is None:
            return
        try:
            if self._events_sock is None:
                host, port = self.events.rsplit(":", 1)
                self._events_sock = socket.create_connection((host, int(port)), timeout=2)
            self._events_sock.sendall((json.dumps(event) + "\n").encode())
            self._events_sock.recv(16)
        except OSError:
            with contextlib.suppress(OSError):
                if self._events_sock is not None:
                    self._events_sock.close()
            self._events_sock = None


class _Handler(BaseHTTPRequestHandler):
    stub: _Stub
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # A reply goes out as two writes (headers, body): with Nagle's algorithm the body waited
        # for the caller's delayed ACK of the headers, ~40 ms for a third of the calls, after the
        # log had already stamped the call as ended.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        del format, args  # the JSONL call log is the log

    def do_GET(self) -> None:
        if self.path.rstrip("/") == "/v1/inflight":
            with self.stub.lock:
                self._send(200, {"inflight": list(self.stub.inflight.values())})
        elif self.path.rstrip("/") in ("/health", "/v1/models"):
            self._send(200, {"data": [{"id": "stub", "object": "model"}]})
        else:
            self._send(404, {"error": {"message": f"no route {self.path}"}})

    def do_POST(self) -> None:
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._send(404, {"error": {"message": f"no route {self.path}"}})
            return
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        messages = body.get("messages", [])
        digest = prompt_hash(messages)
        text, completion_tokens = reply_for(digest)
        prompt_tokens = max(1, len(normalise(messages).split()))
        record: dict[str, Any] = {
            "arm": self.headers.get("X-Recovery-Arm", ""),
            "run": self.headers.get("X-Recovery-Run", ""),
            "pid": int(self.headers.get("X-Recovery-Pid", "0") or 0),
            "hash": digest,
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "t_begin": time.time(),
        }
        call_id = self.stub.begin(record)
        # Deterministic jitter (0.6x-1.4x) so parallel branches finish at different times.
        time.sleep(self.stub.latency_s * (0.6 + 0.8 * bytes.fromhex(digest)[1] / 255))
        reply = {
            "id": f"chatcmpl-{digest[:16]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "stub"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
        delivered = True
        try:
            self._send(200, reply)
        except OSError:
            delivered = False  # the caller was killed while we "thought"
        self.stub.end(call_id, record | {"t_end": time.time(), "delivered": delivered})

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def serve(port: int, latency_ms: float, log: Path, events: str | None) -> None:
    """Serve until killed; print the bound port first so the parent can connect."""
    stub = _Stub(latency_ms / 1000.0, log, events)
    handler = type("Handler", (_Handler,), {"stub": stub})
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    print(f"PORT {server.server_address[1]}", flush=True)
    server.serve_forever(poll_interval=0.2)


app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


@app.command(help=__doc__.split("\n")[0])
def run(
    port: int = typer.Option(0, "--port", min=0, max=65535, help="0 picks a free port."),
    latency_ms: float = typer.Option(50.0, "--latency-ms", min=0, help="Nominal seconds per call, in ms."),
    log: Path = typer.Option(..., "--log", help="JSONL call log (appended)."),
    events: str = typer.Option(None, "--events", help="HOST:PORT of the controller"),
) -> None:
    serve(port, latency_ms, log, events)


def main(argv: list[str] | None = None) -> None:
    """Serve with `argv` (default: the command line)."""
    app(args=argv)


if __name__ == "__main__":
    main()
