"""Graph-side probes: tell the controller where the graph is, and wait for its nod.

A probe is a blocking round trip to the controller's event socket. The controller
decides, before it acknowledges, whether to SIGKILL the process that sent it; so a
kill "right after a node returns" or "between two memory upserts" lands exactly
there, while the kill itself still comes from outside, as a real crash would.
Without an events address (a plain run, a notebook) every probe is a no-op.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
from typing import Any

_lock = threading.Lock()
_sockets: dict[str, socket.socket] = {}


def probe(events: str | None, event: str, run: str, **fields: Any) -> None:
    """Report `event` of `run` to the controller at `events` (HOST:PORT) and wait for the ack."""
    if not events:
        return
    message = {"event": event, "run": run, "pid": os.getpid(), "t": time.time(), **fields}
    data = (json.dumps(message) + "\n").encode()
    with _lock:
        try:
            sock = _sockets.get(events)
            if sock is None:
                host, port = events.rsplit(":", 1)
                sock = socket.create_connection((host, int(port)), timeout=10)
                _sockets[events] = sock
            sock.sendall(data)
            sock.recv(16)
        except OSError:
            # A controller that went away must not fail the graph it observes.
            with contextlib.suppress(OSError, KeyError):
                _sockets.pop(events).close()
