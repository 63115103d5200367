"""A group of a micro-batch's documents: for each, skip it if recorded, else read it, run the
graph (or take a stored result of equal content) and write its result artifact.

Plain synchronous code over picklable inputs, so the micro-batch activity runs a group
either in a thread of the worker or in a process of the worker's document pool
(`doc_pool.py`): the same steps, the same artifacts, the same ledger lines either way.
The activity keeps what must stay in one process: the memory upsert (one writer per
local Chroma folder), the records and the cursor. A group stops between documents once
`cancelled()` says so (the activity was cancelled or timed out): a later attempt must not
race an abandoned one over the same documents.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import hashlib
import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestration.activities.manifest import ManifestEntry
from orchestration.activities.usage_ledger import UsageLedger
from orchestration.artifacts import LocalArtifactStore, doc_record_key, result_key
from orchestration.shared.doc_record import DocRecord
from orchestration.shared.usage import CallCounts
from reasoning.batch_runner import GraphOverInputs
from reasoning.call_log import CallScope, call_scope, shared_call_log, with_call_log
from reasoning.checkpoints import CheckpointConfig
from reasoning.context import GraphContext
from reasoning.errors import ConfigError, ModelError
from reasoning.models import ModelSettings, make_chat_model
from reasoning.observer import RunObserver
from reasoning.registry import GraphSpec
from reasoning.types import DocumentAnalysis, DocumentInput, Evidence
from retrieval import Document, SkippedFile, chunk_id
from retrieval.sources import read_file

Cancelled = Callable[[], bool]
# Graph runs timed one at a time before a process decides; the graph is taken to wait (threads
# help) when off the CPU for more than this share of their time and this long per run.
_PROBE, _WAITS, _MIN_WAIT_S = 2, 0.75, 0.02

DOC_THREADS = 25
"""Documents of a group analysed at once by default (the worker's `batch_doc_threads`)."""
MAX_DOC_THREADS = 64


@dataclass(frozen=True)
class DocumentTask:
    """What every document of one micro-batch attempt shares (picklable: it crosses to the pool).

    Attributes:
        spec: the per-document graph (its factory and models are importable by reference).
        model: the worker's model settings with the batch's provider and name applied.
        ledger: the attempt's usage-ledger folder and attempt number (None: no ledger).
        threads: documents of a group analysed at once (each thread with its own compiled graph).
        call_log: where the attempt's call log is, its thread and attempt (claimed by the activity
            before any document runs); each document's calls are logged under its index, so a
            retried micro-batch replays the calls of the document that was in flight. None: none.
    """

    job_id: str
    graph: str
    spec: GraphSpec
    model: ModelSettings
    question: str
    doc_attempts: int
    reuse_job: str | None
    retry: bool
    artifacts_root: Path
    max_file_bytes: int
    ledger: tuple[Path, int] | None
    threads: int = 1
    call_log: tuple[CheckpointConfig, str, int] | None = None


@dataclass
class DocumentOutcome:
    """A document's record (`recorded`: an earlier attempt's, already written; else not yet
    written), its memory document when it succeeded, whether its graph ran in this attempt
    (`analysed`), and the model calls and nodes its runs made (for the worker's metrics)."""

    record: DocRecord
    memory_doc: Document | None = None
    analysed: bool = False
    calls: list[tuple[str, int, int]] = field(default_factory=list)
    nodes: list[tuple[str, float, bool]] = field(default_factory=list)
    recorded: bool = False
    replayed: list[tuple[str, int, int]] = field(default_factory=list)


def analyse_group(
    task: DocumentTask,
    entries: list[ManifestEntry],
    runners: RunnerPool,
    ledger: UsageLedger | None,
    cancelled: Cancelled,
) -> list[DocumentOutcome]:
    """The outcomes of `entries` in order, up to the first one left when `cancelled()`.

    Up to `task.threads` documents at once once `runners` saw the graph wait (`RunnerPool.observe`,
    fed by a probe of two graph runs one at a time): a model call waits on the network with the
    GIL released, so threads let a real model's batch keep many calls in flight, while a graph
    that computes is only slowed by them. Each document runs on a runner of its own while it runs
    (a runner meters one run at a time).
    """
    store = LocalArtifactStore(task.artifacts_root)

    def one(entry: ManifestEntry) -> DocumentOutcome | None:
        if cancelled():
            return None
        record = read_record(store, task.job_id, entry.index)
        if record is not None and (record.ok or not task.retry):  # finished by an earlier attempt
            return DocumentOutcome(record, recorded=True)
        with runners.lease() as runner:
            return analyse_document(task, entry, runner, ledger)

    out: list[DocumentOutcome] = []
    todo = iter(entries)
    threaded = task.threads > 1 and runners.threaded
    probing = task.threads > 1 and not threaded  # clocks read only while a process decides
    began, busy, ran = (time.perf_counter(), _busy_s(), 0) if probing else (0.0, 0.0, 0)
    while not threaded:
        entry = next(todo, None)
        outcome = None if entry is None else one(entry)
        if outcome is None:  # the end, or cancelled: stop before the next document
            return out
        out.append(outcome)
        ran += not outcome.recorded and outcome.analysed
        if probing and ran == _PROBE:
            runners.observe(ran, time.perf_counter() - began, _busy_s() - busy)
            threaded = runners.threaded
    rest = list(todo)
    if rest:
        with concurrent.futures.ThreadPoolExecutor(min(task.threads, len(rest)), thread_name_prefix="doc") as pool:
            done = list(pool.map(one, rest))
        # In order up to the first document a cancel left: results past it are artifacts a retry reads back.
        out += itertools.takewhile(lambda o: o is not None, done)  # type: ignore[arg-type]
    return out


def _busy_s() -> float:
    """Seconds this thread ran or was ready to run: on Linux its CPU time plus its wait for a
    CPU (`schedstat`), so a thread that shares busy cores does not look like one waiting on the
    network; elsewhere its CPU time."""
    cpu = time.thread_time()
    try:
        with open("/proc/thread-self/schedstat", "rb") as f:
            on_cpu, runnable, _ = f.read().split()
    except (OSError, ValueError):
        return cpu
    # A kernel that keeps no scheduler statistics reports zeros: trust the CPU clock then.
    return (int(on_cpu) + int(runnable)) / 1e9 if int(on_cpu) else cpu


def read_record(store: LocalArtifactStore, job_id: str, index: int) -> DocRecord | None:
    """A document's record (`jobs/<job>/docs/<index>.json`), None before it is recorded."""
    try:  # one open, not a stat then an open: every document and reduce input reads its record
        text = store.path(doc_record_key(job_id, index)).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    return DocRecord.model_validate_json(text)


def write_record(store: LocalArtifactStore, job_id: str, record: DocRecord) -> None:
    store.put_text(doc_record_key(job_id, record.index), record.model_dump_json())


_pools: dict[tuple[str, str], RunnerPool] = {}
_pools_lock = threading.Lock()


def runner_pool(spec: GraphSpec, model: ModelSettings) -> RunnerPool:
    """This process's runners of `spec` with `model` (and what its groups taught about threads)."""
    key = (spec.key, model.model_dump_json())
    with _pools_lock:
        if key not in _pools:
            _pools[key] = RunnerPool(spec, model)
        return _pools[key]


class NoEvidence:
    """Per-document and reduce graphs read their input, not the memory."""

    def retrieve(self, query: str, k: int = 5) -> list[Evidence]:
        return []


def make_runner(spec: GraphSpec, model: ModelSettings) -> GraphOverInputs:
    """The compiled graph and its model, built once per micro-batch (or per pool process); the
    model answers from the call log inside a document's scope (`_invoke`), and only there."""
    return GraphOverInputs(spec, GraphContext(retriever=NoEvidence(), model=with_call_log(make_chat_model(model))))


class RunnerPool:
    """Runners (compiled graph, model, meter) of one graph and model: each leased to one thread
    at a time and kept for the next lease, so a process compiles at most one per thread.

    Attributes:
        threaded: whether groups run their documents in threads: the last groups' graphs waited
            (`observe`). Starts False: the first group runs one document at a time and measures.
    """

    def __init__(self, spec: GraphSpec, model: ModelSettings) -> None:
        self.spec, self.model = spec, model
        self.threaded = False
        self._free: list[GraphOverInputs] = []
        self._lock = threading.Lock()

    def observe(self, documents: int, wall_s: float, busy_s: float) -> None:
        """`documents` graphs ran one at a time in `wall_s`, their thread busy (or ready) `busy_s`.

        A graph that mostly waits (a model over the network: off the CPU over three quarters of
        the time, and over 20 ms a run) gets threads from now on in this process; one that
        computes (the fake model, a local one) keeps one document at a time, where threads only
        add GIL contention (measured: 697 docs/s alone against 432-454 with 8-25 threads, fake
        model without latency).
        """
        waited = wall_s - busy_s
        # Both: a share (the graph waits more than it computes) and a floor per run (a network
        # call, not a disk stall: one probe measured 3.8 ms off the CPU in a graph that computes).
        if documents >= _PROBE and waited > _WAITS * wall_s and waited / documents > _MIN_WAIT_S:
            self.threaded = True

    @contextlib.contextmanager
    def lease(self) -> Iterator[GraphOverInputs]:
        with self._lock:
            runner = self._free.pop() if self._free else None
        runner = runner or make_runner(self.spec, self.model)
        try:
            yield runner
        finally:
            with self._lock:
                self._free.append(runner)


class CallRecorder:
    """Keeps the calls and nodes of a run, to be replayed into the worker's metrics (after telling
    `ledger` of each call as it returns)."""

    def __init__(self, ledger: RunObserver | None = None) -> None:
        self.ledger = ledger
        self.calls: list[tuple[str, int, int]] = []
        self.replayed: list[tuple[str, int, int]] = []
        self.nodes: list[tuple[str, float, bool]] = []

    def on_model_call(self, node: str, input_tokens: int, output_tokens: int) -> None:
        if self.ledger is not None:
            self.ledger.on_model_call(node, input_tokens, output_tokens)
        self.calls.append((node, input_tokens, output_tokens))

    def on_node(self, node: str, seconds: float, ok: bool) -> None:
        self.nodes.append((node, seconds, ok))

    def on_replayed_call(self, node: str, input_tokens: int, output_tokens: int) -> None:
        self.replayed.append((node, input_tokens, output_tokens))


def analyse_document(
    task: DocumentTask, entry: ManifestEntry, runner: GraphOverInputs, ledger: UsageLedger | None
) -> DocumentOutcome:
    """Read `entry`, then take a stored result of equal content or run the graph, and write
    the result artifact; the ledger's unit for the document is begun here and settled once
    an artifact carries the calls."""
    store = LocalArtifactStore(task.artifacts_root)
    recorder = CallRecorder(ledger.observer() if ledger is not None else None)
    runner.observe(recorder)
    text, title, problem = read_entry(store, entry, task.max_file_bytes)
    if problem is not None:
        return DocumentOutcome(DocRecord(index=entry.index, source=entry.source, graph=task.graph, error=problem))
    digest = hashlib.sha256(text.encode()).hexdigest()[:32]
    if ledger is not None:
        ledger.begin(unit(entry.index))
    try:
        found = _analyse(task, store, entry, runner, text, title, digest, ledger)
    finally:
        if ledger is not None:
            ledger.begin(None)
    graph, memory_doc = task.graph, None
    if found.stored is not None:
        graph, analysis = found.stored
        memory_doc = _memory_doc(task.job_id, entry, title, digest, graph, analysis)
    # Built once, when everything about the document is known (this runs for every document).
    record = DocRecord(
        index=entry.index, source=entry.source, graph=graph, hash=digest, result=result_key(task.job_id, digest),
        ok=found.ok, error=found.error, reused=found.reused, usage=found.usage,
    )  # fmt: skip
    return DocumentOutcome(
        record, memory_doc, found.analysed, recorder.calls, recorder.nodes, replayed=recorder.replayed
    )


@dataclass(frozen=True)
class _Found:
    """What `_analyse` found: a result (`stored`: its graph and analysis) or an error, whether the
    graph ran here, and what its runs spent (a reused result's spending is its first run's)."""

    ok: bool
    stored: tuple[str, DocumentAnalysis] | None = None
    error: str = ""
    reused: bool = False
    analysed: bool = False
    usage: CallCounts = field(default_factory=CallCounts)


def read_entry(store: LocalArtifactStore, entry: ManifestEntry, max_file_bytes: int) -> tuple[str, str, str | None]:
    """(text, title, None), or a reason the entry cannot be analysed."""
    if entry.kind == "text":
        return store.get_text(entry.ref), entry.title, None
    got = read_file(Path(entry.ref), max_file_bytes)
    if isinstance(got, SkippedFile):
        return "", "", f"not a readable file ({got.reason})"
    if not got.text.strip():
        return "", "", "the document has no text"
    return got.text, got.title, None


def _analyse(
    task: DocumentTask,
    store: LocalArtifactStore,
    entry: ManifestEntry,
    runner: GraphOverInputs,
    text: str,
    title: str,
    digest: str,
    ledger: UsageLedger | None,
) -> _Found:
    """Run the graph, or take the stored result of equal content (this batch's, or --reuse's)."""
    for job, reused in ((task.job_id, False), (task.reuse_job, True)):
        if job and store.exists(result_key(job, digest)):
            earlier = json.loads(store.get_text(result_key(job, digest)))
            if not reused or earlier.get("graph") == task.graph:
                stored = (earlier["graph"], DocumentAnalysis.model_validate(earlier["analysis"]))
                if reused:
                    _write_result(store, task.job_id, entry, digest, *stored, usage=CallCounts())
                if not reused and earlier.get("index") == entry.index:
                    # This very document, analysed by an attempt killed before it recorded it:
                    # what that run spent is counted here, once (a duplicate's is not).
                    if ledger is not None:
                        ledger.settle(unit(entry.index))
                    return _Found(True, stored, usage=CallCounts.model_validate(earlier.get("usage", {})))
                return _Found(True, stored, reused=reused)
    doc = DocumentInput(source=entry.source, title=title, text=text, question=task.question)
    meter = runner.meter
    before = CallCounts.of(meter)

    def spent() -> CallCounts:
        return CallCounts.of(meter) - before

    error = ""
    for _ in range(task.doc_attempts):
        try:
            analysis = DocumentAnalysis.model_validate(_invoke(task, entry, runner, doc))
        except Exception as exc:  # one document's failure is recorded; the batch goes on
            error = f"{type(exc).__name__}: {exc}"[:500]
            if _final(exc):
                break
            continue
        _write_result(store, task.job_id, entry, digest, task.graph, analysis, usage=spent())
        if ledger is not None:
            ledger.settle(unit(entry.index))  # the result carries these calls now
        return _Found(True, (task.graph, analysis), analysed=True, usage=spent())
    return _Found(False, error=error, analysed=True, usage=spent())


def _invoke(task: DocumentTask, entry: ManifestEntry, runner: GraphOverInputs, doc: DocumentInput) -> dict[str, Any]:
    """One run of the document's graph inside its own call-log scope (a fresh scope per run, so a
    second run of the document, in this attempt or a later one, replays the first one's calls)."""
    if task.call_log is None:
        return runner.invoke(doc)
    config, thread, attempt = task.call_log
    scope = CallScope(shared_call_log(config, thread), thread, attempt, task.spec.key, prefix=f"{unit(entry.index)}/")
    with call_scope(scope):
        return runner.invoke(doc)


def _write_result(
    store: LocalArtifactStore,
    job_id: str,
    entry: ManifestEntry,
    digest: str,
    graph: str,
    analysis: DocumentAnalysis,
    *,
    usage: CallCounts,
) -> None:
    payload = {
        "graph": graph, "source": entry.source, "index": entry.index, "hash": digest, "usage": usage.model_dump(),
        "analysis": analysis.model_dump(mode="json"),
    }  # fmt: skip
    store.put_text(result_key(job_id, digest), json.dumps(payload))


def _memory_doc(
    job_id: str, entry: ManifestEntry, title: str, digest: str, graph: str, analysis: DocumentAnalysis
) -> Document:
    body = analysis.summary + "\n" + "\n".join(f"- {c.text}" for c in analysis.claims)
    meta: dict[str, str | int | float | bool] = {
        "source": entry.source, "title": title or entry.title or entry.source, "batch": job_id,
        "doc_hash": digest, "graph": graph,
    }  # fmt: skip
    return Document(id=chunk_id(f"{job_id}:{digest}", body), text=body, metadata=meta)


def unit(index: int) -> str:
    """A document's unit in the usage ledger."""
    return f"doc-{index}"


def _final(exc: Exception) -> bool:
    """A retry inside the activity cannot help: misuse, or a provider's non-retryable answer."""
    return isinstance(exc, ConfigError) or (isinstance(exc, ModelError) and not exc.retryable)
