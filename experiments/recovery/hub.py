"""The controller's event hub: receives probes and stub call starts, fires seeded kills.

Kills are aligned by logical event, not wall time: a :class:`Trigger` names an event
kind and which occurrence (counted from the moment it is armed) ends the process that
reported it, either before the probe is acknowledged (the process is frozen exactly
there) or after a delay (a fraction of a model call's latency). Only processes the
controller started are ever signalled.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socketserver
import threading
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Trigger:
    """Kill on the `nth` matching event (or at `at_s` after arming when `event` is "time")."""

    event: str
    nth: int = 1
    delay_s: float = 0.0
    node: str | None = None
    at_s: float = 0.0

    def matches(self, message: dict[str, Any]) -> bool:
        if message.get("event") != self.event:
            return False
        return self.node is None or message.get("node") == self.node


@dataclass
class RunWatch:
    """Everything the hub learned about one run: its events and the kills it fired."""

    run: str
    triggers: list[Trigger]
    events: list[dict[str, Any]] = field(default_factory=list)
    kills: list[dict[str, Any]] = field(default_factory=list)
    last_pid: int = 0
    killed_pids: set[int] = field(default_factory=set)
    _pending: bool = False
    _count: int = 0
    _timer: threading.Timer | None = None


class EventHub:
    """A loopback TCP server (one thread per connection) that owns the kill decisions."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._watch: RunWatch | None = None
        self.owned_pids: set[int] = set()
        hub = self

        class _Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                # A reset connection is the normal end of a process we just killed.
                with contextlib.suppress(OSError):
                    for line in self.rfile:
                        with contextlib.suppress(ValueError):
                            hub._on_message(json.loads(line))
                        self.wfile.write(b"ok\n")
                        self.wfile.flush()

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{host}:{port}"

    def close(self) -> None:
        self.disarm()
        self._server.shutdown()
        self._server.server_close()

    def arm(self, run: str, triggers: list[Trigger]) -> RunWatch:
        """Start watching `run`; a time trigger starts counting at the run's first event."""
        watch = RunWatch(run=run, triggers=list(triggers))
        with self._lock:
            self._watch = watch
        return watch

    def disarm(self) -> RunWatch | None:
        """Stop watching the current run (cancels a pending time trigger)."""
        with self._lock:
            watch, self._watch = self._watch, None
            if watch is not None and watch._timer is not None:
                watch._timer.cancel()
        return watch

    def _arm_timer(self, watch: RunWatch) -> None:
        if watch.triggers and watch.triggers[0].event == "time":
            timer = threading.Timer(watch.triggers[0].at_s, self._fire_time, args=(watch,))
            timer.daemon = True
            watch._timer = timer
            timer.start()

    def _fire_time(self, watch: RunWatch) -> None:
        with self._lock:
            if self._watch is watch and watch.triggers and watch.last_pid:
                self._kill(watch, watch.last_pid, watch.triggers.pop(0))
                watch._count = 0
                self._arm_timer(watch)

    def _on_message(self, message: dict[str, Any]) -> None:
        message.setdefault("t", time.time())
        message["t_hub"] = time.time()
        delayed: tuple[RunWatch, int, Trigger] | None = None
        with self._lock:
            watch = self._watch
            if watch is None or message.get("run") != watch.run:
                return
            watch.events.append(message)
            if len(watch.events) == 1:
                self._arm_timer(watch)  # "uniform" time counts from the graph's first sign
            pid = int(message.get("pid") or 0)
            if pid in self.owned_pids:
                watch.last_pid = pid
            if watch._pending or pid in watch.killed_pids:
                return  # the next trigger is armed only once the previous kill landed
            if not watch.triggers or not watch.triggers[0].matches(message):
                return
            watch._count += 1
            trigger = watch.triggers[0]
            if watch._count < trigger.nth:
                return
            watch.triggers.pop(0)
            watch._count = 0
            if trigger.delay_s <= 0:
                self._kill(watch, pid, trigger)
                self._arm_timer(watch)
            else:
                watch._pending = True
                delayed = (watch, pid, trigger)
        if delayed is not None:
            timer = threading.Timer(delayed[2].delay_s, self._fire_delayed, args=delayed)
            timer.daemon = True
            timer.start()

    def _fire_delayed(self, watch: RunWatch, pid: int, trigger: Trigger) -> None:
        with self._lock:
            if self._watch is watch:
                watch._pending = False
                self._kill(watch, pid, trigger)
                self._arm_timer(watch)

    def _kill(self, watch: RunWatch, pid: int, trigger: Trigger) -> None:
        """SIGKILL one of our own processes; record when, whom and why."""
        if pid not in self.owned_pids:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
            watch.killed_pids.add(pid)
            watch.kills.append({"t": time.time(), "pid": pid, "trigger": trigger.event})
