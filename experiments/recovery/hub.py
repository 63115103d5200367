"""The controller's event hub: receives probes and stub call starts, fires seeded kills.

Kills are aligned by logical event, not wall time: a :class:`Trigger` names an event
kind and which occurrence (counted from the moment it is armed) ends the process that
reported it, either before the probe is acknowledged (the process is frozen exactly
there) or after a delay (a fraction of a model call's latency). Only processes the
controller started are ever signalled.

A trigger whose action is "pause" stops the process (SIGSTOP) instead: it stays alive,
holding its sockets, locks and Temporal polls, as a swapped-out or frozen worker does. The
hub lets it go on (SIGCONT) as soon as another process reports work on the same run (an
``attempt_start`` probe or a model call): from then on it is a zombie, and what it still
does is measured. If no successor shows up within ``pause_max_s`` it is let go anyway, and
the first sign of another process on the run afterwards counts as the takeover. (A stopped
worker keeps its long polls open, so Temporal may hand the retries to it: they wait out
their heartbeat timeouts inside the stopped process, and only a later one reaches the other
worker.)
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
from pathlib import Path
from typing import Any

# What a successor does first on a run: its first node announces the retry, or it calls the model.
_TAKEOVER = ("attempt_start", "call_begin")


@dataclass(frozen=True)
class Trigger:
    """Kill on the `nth` matching event (or at `at_s` after arming when `event` is "time")."""

    event: str
    nth: int = 1
    delay_s: float = 0.0
    node: str | None = None
    at_s: float = 0.0
    action: str = "kill"

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
    pauses: list[dict[str, Any]] = field(default_factory=list)
    _paused: dict[str, Any] | None = None  # the pause whose process is still stopped
    _unclaimed: dict[str, Any] | None = None  # a pause that ended before any successor showed up
    _pending: bool = False
    _count: int = 0
    _timer: threading.Timer | None = None


class EventHub:
    """A loopback TCP server (one thread per connection) that owns the kill decisions."""

    def __init__(self, pause_max_s: float = 30.0, log_path: Path | None = None) -> None:
        self.pause_max_s = pause_max_s
        # Every event of a watched run and every signal sent, for reading a run back afterwards.
        self._log = log_path.open("a", buffering=1) if log_path is not None else None
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
        if self._log is not None:
            self._log.close()

    def _note(self, record: dict[str, Any]) -> None:
        if self._log is not None:
            self._log.write(json.dumps(record, default=str) + "\n")

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
            if watch is not None and watch._paused is not None:
                self._release(watch, None)  # never leave a stopped process behind
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
                self._fire(watch, watch.last_pid, watch.triggers.pop(0))
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
            self._note(message)
            if len(watch.events) == 1:
                self._arm_timer(watch)  # "uniform" time counts from the graph's first sign
            pid = int(message.get("pid") or 0)
            if pid in self.owned_pids:
                watch.last_pid = pid
            paused = watch._paused
            if paused is not None and pid and pid != paused["pid"] and message.get("event") in _TAKEOVER:
                self._release(watch, message)
            late = watch._unclaimed
            if late is not None and pid and pid != late["pid"] and message.get("event") in _TAKEOVER:
                watch._unclaimed = None
                self._took_over(late, message, while_paused=False)
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
                self._fire(watch, pid, trigger)
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
                self._fire(watch, pid, trigger)
                self._arm_timer(watch)

    def _fire(self, watch: RunWatch, pid: int, trigger: Trigger) -> None:
        if trigger.action == "pause":
            self._pause(watch, pid, trigger)
        else:
            self._kill(watch, pid, trigger)

    def _pause(self, watch: RunWatch, pid: int, trigger: Trigger) -> None:
        """SIGSTOP one of our own processes; it goes on when a successor takes over (or after pause_max_s)."""
        if pid not in self.owned_pids:
            return
        # The attempt it runs: 1, or the latest retry it announced.
        attempt = max((int(e.get("attempt") or 1) for e in watch.events
                       if e.get("pid") == pid and e.get("event") == "attempt_start"), default=1)  # fmt: skip
        try:
            os.kill(pid, signal.SIGSTOP)
        except ProcessLookupError:
            return
        pause: dict[str, Any] = {
            "t": time.time(), "pid": pid, "trigger": trigger.event, "attempt": attempt,
            "takeover_t": None, "takeover_pid": None, "takeover_event": None, "takeover_attempt": None,
            "takeover_while_paused": None, "cont_t": None,
        }  # fmt: skip
        watch.pauses.append(pause)
        watch._paused = pause
        self._note({"event": "SIGSTOP", "run": watch.run, **pause})
        timer = threading.Timer(self.pause_max_s, self._pause_expired, args=(watch, pause))
        timer.daemon = True
        timer.start()

    def _pause_expired(self, watch: RunWatch, pause: dict[str, Any]) -> None:
        with self._lock:
            if watch._paused is pause:
                self._release(watch, None)

    def _release(self, watch: RunWatch, takeover: dict[str, Any] | None) -> None:
        """SIGCONT the paused process; `takeover` is the successor's message that ended the pause."""
        pause = watch._paused
        if pause is None:
            return
        watch._paused = None
        if takeover is not None:
            self._took_over(pause, takeover, while_paused=True)
        else:
            watch._unclaimed = pause
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(pause["pid"]), signal.SIGCONT)
        pause["cont_t"] = time.time()
        self._note({"event": "SIGCONT", "run": watch.run, **pause})

    def _took_over(self, pause: dict[str, Any], takeover: dict[str, Any], *, while_paused: bool) -> None:
        # Only a probe carries Temporal's attempt; a stub event's "attempt" counts repeats of its prompt.
        attempt = takeover.get("attempt") if takeover.get("event") == "attempt_start" else None
        pause.update(
            takeover_t=float(takeover["t"]), takeover_pid=int(takeover["pid"]), takeover_event=takeover.get("event"),
            takeover_attempt=attempt, takeover_while_paused=while_paused,
        )  # fmt: skip

    def _kill(self, watch: RunWatch, pid: int, trigger: Trigger) -> None:
        """SIGKILL one of our own processes; record when, whom and why."""
        if pid not in self.owned_pids:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
            watch.killed_pids.add(pid)
            watch.kills.append({"t": time.time(), "pid": pid, "trigger": trigger.event})
            self._note({"event": "SIGKILL", "run": watch.run, **watch.kills[-1]})
