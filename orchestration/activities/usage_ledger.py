"""A durable per-attempt record of model calls, so a killed or failed attempt's spending is still counted.

Usage rides on activity results, and an attempt that is SIGKILLed, times out or fails
returns none. So every attempt appends one line per returned model call to its own file
in the artifact store (`artifacts.usage_ledger_key(...)/attempt-NNN.jsonl`): one
``O_APPEND`` write per call, no buffer, so a killed process loses at most the call it was
in (the kernel keeps what was written; fsync is left out: a call costs far more than the
line, but a lost host is not the failure this guards against). The attempt that ends the
activity, with a result or with its final failure, reads the earlier attempts' files and
reports their calls, priced like its own, inside its `Usage` (totals and `lost_*`), so the
workflow sums every call exactly once, from results, never from heartbeats.

Reading happens when an attempt ends, not when it starts, so calls a paused (zombie)
attempt made before the newer one finished are counted too; only its calls after that are
not (Prometheus counts them). Lines carry a sequence number and a torn last line is
skipped, so a reader never counts a call twice or fails on a half-written file.
Accounting never takes an activity down: a ledger that cannot be written or read logs a
warning and the figures under-count as they did before the ledger.

A graph activity uses it like this (`ReasoningActivities._run`)::

    with UsageLedger.for_activity(deps.artifacts) as ledger:
        run = await arun_graph(..., observer=ledger.observer(metrics))
        usage = ledger.with_earlier(own_usage, price)      # on success
    # on failure: raise ledger.failure(to_application_error(exc), price) from exc

An activity that already keeps some of its spending durably per unit of work (the batch
engine's micro-batch: a document's result or record carries its calls) marks the units,
so the ledger counts only what no artifact carries, e.g. the document a killed attempt was
in the middle of: `ledger.begin(unit)` before the unit's calls, and `ledger.settle(unit)`
once an artifact that a later attempt reads back holds its usage (or when a later attempt
reads such an artifact back itself). Readers then leave out the calls of the attempt that
produced the artifact; an attempt killed in the middle of that unit keeps its calls counted.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from temporalio import activity
from temporalio.exceptions import ApplicationError

from orchestration.artifacts import LocalArtifactStore, usage_ledger_key
from orchestration.shared.usage import USAGE_DETAIL_KEY, CallCounts, Usage
from reasoning.observer import RunObserver

_log = logging.getLogger(__name__)
_ATTEMPT_FILE = re.compile(r"^attempt-(\d+)\.jsonl$")

Pricer = Callable[[CallCounts], Usage]
"""(model calls, input tokens, output tokens) -> priced Usage (the worker's price table)."""


@dataclass(frozen=True)
class LedgerTotal:
    """Calls recorded by some attempts of one activity."""

    attempts: int = 0
    counts: CallCounts = field(default_factory=CallCounts)

    def priced(self, price: Pricer) -> Usage:
        return price(self.counts) if self.counts.calls else Usage()


class UsageLedger:
    """One activity attempt's ledger, and a reader of its activity's other attempts.

    Args:
        folder: the activity's ledger folder (None: a ledger that records and reads nothing).
        attempt: this attempt's number (Temporal's, from 1).
        writer: tells apart several writers of one attempt's file (the processes of a worker's
            document pool), each with its own sequence numbers; "" for the activity itself.
    """

    def __init__(self, folder: Path | None, attempt: int, writer: str = "") -> None:
        self.folder = folder
        self.attempt = attempt
        self.writer = writer
        self._fd: int | None = None
        self._seq = 0
        self._lock = threading.Lock()
        self._broken = folder is None
        # Per context, not per ledger: a pool process analyses several documents at once in
        # threads, each its own unit (LangGraph copies the context into the threads it runs nodes on).
        self._unit: contextvars.ContextVar[str | None] = contextvars.ContextVar(f"ledger-unit-{id(self)}", default=None)

    @classmethod
    def for_activity(cls, store: LocalArtifactStore) -> UsageLedger:
        """The ledger of the running activity attempt (workflow id, run id, activity id, attempt)."""
        info = activity.info()
        try:
            folder = store.path(
                usage_ledger_key(info.workflow_id or "-", info.workflow_run_id or "-", info.activity_id)
            )
        except Exception as exc:  # an id the artifact keys cannot hold: count as before, never fail
            _log.warning("usage ledger off for activity %s: %s", info.activity_id, exc)
            folder = None
        return cls(folder, info.attempt)

    def __enter__(self) -> UsageLedger:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def record(self, input_tokens: int, output_tokens: int) -> None:
        """Append one returned model call to this attempt's file (thread-safe; never raises)."""
        with self._lock:
            self._seq += 1
            entry: dict[str, object] = {"seq": self._seq, "in": int(input_tokens), "out": int(output_tokens)}
            if self.writer:
                entry["w"] = self.writer
            unit = self._unit.get()
            if unit is not None:
                entry["unit"] = unit
            self._append(entry)

    def begin(self, unit: str | None) -> None:
        """Calls recorded from now on in this context (thread) belong to `unit` (e.g. "doc-00000042"); None: none."""
        self._unit.set(unit)

    def settle(self, unit: str) -> None:
        """`unit`'s calls are carried by an artifact a later attempt reads back: no reader counts them here."""
        with self._lock:
            self._append({"settled": unit})

    def _append(self, entry: dict[str, object]) -> None:
        if self._broken:
            return
        try:
            if self._fd is None:
                assert self.folder is not None
                self.folder.mkdir(parents=True, exist_ok=True)
                path = self.folder / f"attempt-{self.attempt:03d}.jsonl"
                self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            os.write(self._fd, (json.dumps(entry) + "\n").encode())
        except OSError as exc:
            self._broken = True
            _log.warning("usage ledger %s not written (%s); retries will under-count", self.folder, exc)

    def observer(self, inner: RunObserver | None = None) -> RunObserver:
        """A run observer that records each model call here, then tells `inner` (e.g. the metrics)."""
        return _LedgerObserver(self, inner)

    def earlier(self) -> LedgerTotal:
        """What the attempts before this one recorded."""
        if self.attempt <= 1:  # the first attempt has none: skip reading its own file (ms per micro-batch)
            return LedgerTotal()
        return self._read(lambda n: n < self.attempt)

    def through_this(self) -> LedgerTotal:
        """What this attempt and the ones before it recorded (a final failure reports this)."""
        return self._read(lambda n: n <= self.attempt)

    def with_earlier(self, own: Usage, price: Pricer) -> Usage:
        """`own` (this attempt's usage from its run) plus the earlier attempts' calls, marked lost."""
        earlier = self.earlier()
        return own + earlier.priced(price).as_lost(earlier.attempts) if earlier.counts.calls else own

    def failure(self, error: ApplicationError, price: Pricer) -> ApplicationError:
        """`error` with the usage of every attempt so far as its first detail (none returned a result).

        Temporal keeps only the last attempt's failure, so the workflow reads the whole
        activity's spending from it (`usage.usage_of_failure`); an earlier attempt's detail is
        dropped with its retry, and the next attempt reads the same calls from the ledger.
        """
        spent = self.through_this()
        if not spent.counts.calls:
            return error
        usage = spent.priced(price).as_lost(spent.attempts)
        return ApplicationError(
            error.message,
            {USAGE_DETAIL_KEY: usage.model_dump(mode="json")},
            *error.details,
            type=error.type,
            non_retryable=error.non_retryable,
            next_retry_delay=error.next_retry_delay,
            category=error.category,
        )

    def _read(self, wanted: Callable[[int], bool]) -> LedgerTotal:
        if self.folder is None or not self.folder.is_dir():
            return LedgerTotal()
        files: dict[int, _AttemptFile] = {}
        try:
            for path in sorted(self.folder.iterdir()):
                match = _ATTEMPT_FILE.match(path.name)
                if match and int(match[1]) <= self.attempt:  # a newer attempt's file is not ours to read
                    files[int(match[1])] = _AttemptFile.read(path)
        except OSError as exc:
            _log.warning("usage ledger %s not read (%s); the figures under-count", self.folder, exc)
        settled = _settled_runs(files)
        attempts = calls = tokens_in = tokens_out = 0
        for number, file in files.items():
            counted = [(i, o) for unit, i, o in file.calls.values() if unit is None or (number, unit) not in settled]
            if wanted(number) and counted:
                attempts += 1
                calls += len(counted)
                tokens_in += sum(i for i, _ in counted)
                tokens_out += sum(o for _, o in counted)
        return LedgerTotal(attempts, CallCounts(calls=calls, tokens_in=tokens_in, tokens_out=tokens_out))


def _settled_runs(files: dict[int, _AttemptFile]) -> set[tuple[int, str]]:
    """(attempt, unit) pairs whose calls an artifact carries.

    An attempt that settles a unit it ran settles its own calls for it; one that settles a
    unit it only read back settles the calls of the last earlier attempt that ran it (the
    one that wrote what it read: after that nobody runs the unit again). An attempt killed
    in the middle of a unit that a later attempt ran again keeps its calls counted.
    """
    out: set[tuple[int, str]] = set()
    for number, file in files.items():
        for unit in file.settled:
            ran = [n for n, f in files.items() if n <= number and any(u == unit for u, _, _ in f.calls.values())]
            if ran:
                out.add((max(ran), unit))
    return out


@dataclass
class _AttemptFile:
    """One attempt's file: (writer, seq) -> (unit, input, output) tokens, and the units it settled.

    A line written twice counts once (same writer and seq); a torn one (a kill mid-write) not at all.
    """

    calls: dict[tuple[str, int], tuple[str | None, int, int]]
    settled: set[str]

    @classmethod
    def read(cls, path: Path) -> _AttemptFile:
        out = cls({}, set())
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                entry = json.loads(line)
                if "settled" in entry:
                    out.settled.add(str(entry["settled"]))
                    continue
                unit = entry.get("unit")
                out.calls[(str(entry.get("w", "")), int(entry["seq"]))] = (
                    None if unit is None else str(unit),
                    int(entry["in"]),
                    int(entry["out"]),
                )
            except (ValueError, KeyError, TypeError, AttributeError):
                continue
        return out


class _LedgerObserver:
    """Records model calls in the ledger first (accounting), then forwards both callbacks."""

    def __init__(self, ledger: UsageLedger, inner: RunObserver | None) -> None:
        self._ledger = ledger
        self._inner = inner

    def on_model_call(self, node: str, input_tokens: int, output_tokens: int) -> None:
        self._ledger.record(input_tokens, output_tokens)
        if self._inner is not None:
            self._inner.on_model_call(node, input_tokens, output_tokens)

    def on_node(self, node: str, seconds: float, ok: bool) -> None:
        if self._inner is not None:
            self._inner.on_node(node, seconds, ok)

    def on_replayed_call(self, node: str, input_tokens: int, output_tokens: int) -> None:
        # Not spending: the attempt that made the call recorded it when it returned.
        if self._inner is not None:
            self._inner.on_replayed_call(node, input_tokens, output_tokens)
