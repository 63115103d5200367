"""Batch activities: analyse a micro-batch of documents (resuming after the last finished
one), and reduce groups of results into one analysis, then into the report.

Idempotent by construction: a document's record (`docs/<index>.json`) is written last,
after its result artifact (keyed by content hash) and its memory upsert (content-hash
id); a retry skips recorded documents (the heartbeated cursor says how far they go),
reads back results a killed attempt wrote but did not record, and rewrites the same
keys for anything it repeats.

Spending is exact across kills for every recorded document: a document's record and its
result artifact carry the model calls and tokens of its graph runs (failed tries too),
and the activity's result sums the records it counts. Only the document in flight when a
worker dies is lost from the sum.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from temporalio import activity

from orchestration.activities.batch_documents import (
    DocumentOutcome,
    DocumentTask,
    make_runner,
    read_entry,
    read_record,
    unit,
    write_record,
)
from orchestration.activities.deps import WorkerDeps
from orchestration.activities.doc_pool import DocumentPool, PoolGroup, PoolUnavailable, shared_pool
from orchestration.activities.errors import from_portable, to_application_error
from orchestration.activities.manifest import ManifestEntry, read_range, write_manifest
from orchestration.activities.reasoning_acts import usage_footer
from orchestration.activities.reduce_step import ReduceOutput, ReduceTask, reduce_group
from orchestration.activities.running_work import InProcess, ThreadWork, beating
from orchestration.activities.upsert_queue import UpsertQueue
from orchestration.activities.usage_ledger import UsageLedger
from orchestration.artifacts import batch_report_key, reduction_key
from orchestration.shared import names
from orchestration.shared.batch import (
    DocBatchRequest,
    DocBatchResult,
    GraphCheck,
    ManifestRef,
    ManifestRequest,
    ReduceRequest,
    ReduceResult,
    results_collection,
)
from orchestration.shared.doc_record import DocRecord
from orchestration.shared.messages import ReportRef
from orchestration.shared.spec import ModelChoice
from orchestration.shared.usage import CallCounts, Usage
from orchestration.telemetry.metrics import GraphMetrics, count_batch_documents, count_ingest_chunks
from reasoning.batch_fit import check_batch_graph
from reasoning.call_log import claim as claim_thread
from reasoning.call_log import shared_call_log
from reasoning.checkpoints import CheckpointConfig
from reasoning.types import DocumentAnalysis
from retrieval import Document, ingest_documents
from retrieval.pkgdocs import TextDocument

# Documents go to the pool (or a thread), are indexed and are recorded in groups of this many:
# one task, one upsert and one cursor move per group (a local Chroma upsert costs ~15 ms whatever
# its size; 25, the default micro-batch, measured 152 documents/s in one process against 133 with
# groups of 10). A crash before a group's records costs no analysis: the retry reads its results back.
_FLUSH_EVERY = 25


class BatchActivities:
    """Args:
    deps: the worker's stores, registry and settings.
    processes: the size of the worker's document pool (`doc_pool.py`); 0 analyses in this process.
    warm: start the pool's processes now (a dedicated worker), not with the first micro-batch
        (a `run` whose job may never use the batch engine).
    doc_threads: documents of a group analysed at once (threads of a pool process, or of this one).
    """

    def __init__(self, deps: WorkerDeps, processes: int = 0, *, warm: bool = False, doc_threads: int = 1) -> None:
        self._deps = deps
        self._doc_threads = doc_threads
        self._pool: DocumentPool | None = shared_pool(processes)
        self._upserts = UpsertQueue()
        if warm and self._pool is not None and _on_loop_thread():
            self._pool.warm()

    # --- documents -------------------------------------------------------------

    @activity.defn(name=names.BATCH_DOCUMENTS)
    async def analyse_documents(self, req: DocBatchRequest) -> DocBatchResult:
        """Analyse manifest entries [start, end); finished ones are indexed and recorded in groups."""
        store = self._deps.artifacts
        try:
            entries = await asyncio.to_thread(read_range, store, req.manifest_key, req.start, req.end)
            if req.task == "analyse":
                spec, model = self._deps.registry.get(req.graph), self._deps.model_settings_for(req.model)
                metrics = self._metrics(req.graph, req.model)
        except Exception as exc:
            raise to_application_error(exc) from exc
        details = activity.info().heartbeat_details
        cursor = int(details[0].get("cursor", req.start)) if details and isinstance(details[0], dict) else req.start
        out = DocBatchResult()
        if req.task == "ingest":
            return await self._ingest_entries(req, entries, out)
        try:
            call_log = await asyncio.to_thread(self._claim_call_log)
        except Exception as exc:  # superseded: a newer attempt of this micro-batch runs its documents
            raise to_application_error(exc) from exc
        with UsageLedger.for_activity(store) as ledger:
            task = DocumentTask(
                job_id=req.job_id, graph=req.graph, spec=spec, model=model, question=req.question,
                doc_attempts=req.doc_attempts, reuse_job=req.reuse_job, retry=req.retry, artifacts_root=store.root,
                max_file_bytes=self._deps.memory_settings.max_file_bytes,
                ledger=None if ledger.folder is None else (ledger.folder, ledger.attempt),
                threads=self._doc_threads, call_log=call_log,
            )  # fmt: skip
            return await self._analyse_entries(req, task, entries, cursor, out, ledger, metrics)

    def _claim_call_log(self) -> tuple[CheckpointConfig, str, int] | None:
        """Claim this attempt's call-log thread before any document runs (the pool processes and
        threads then check and write against that owner record); None when the log is off or broken."""
        config, info = self._deps.checkpoint, activity.info()
        if not config.call_log:
            return None
        thread = f"{info.workflow_id}/{info.workflow_run_id}/{info.activity_id}"
        if claim_thread(shared_call_log(config, thread), thread, info.attempt) is None:
            return None
        return config, thread, info.attempt

    async def _analyse_entries(
        self,
        req: DocBatchRequest,
        task: DocumentTask,
        entries: list[ManifestEntry],
        cursor: int,
        out: DocBatchResult,
        ledger: UsageLedger,
        metrics: GraphMetrics,
    ) -> DocBatchResult:
        """Groups of documents go to the pool (all at once: a large micro-batch keeps several pool
        processes busy) or to a thread, and each group's results are indexed and recorded in order.
        Records carry each document's calls; the ledger adds those of an earlier attempt's
        document in flight (no record, no result), so the sum counts every call once."""
        pool, local = self._pool, None
        replayed = CallCounts()  # calls the call log answered
        groups = [entries[i : i + _FLUSH_EVERY] for i in range(0, len(entries), _FLUSH_EVERY)]
        running: list[PoolGroup] = []
        try:
            if pool is not None:
                try:
                    for group in groups:
                        running.append(pool.submit(task, group))
                except PoolUnavailable as exc:
                    _drop(running, f"documents analysed in this process: {exc}")
            for i, group in enumerate(groups):
                outcomes: list[DocumentOutcome] | None = None
                if running:
                    try:
                        outcomes = await beating(running[i], cursor)
                    except PoolUnavailable as exc:  # this micro-batch goes on in this process
                        _drop(running, f"documents from {group[0].index} on analysed in this process: {exc}")
                if outcomes is None:
                    local = local or InProcess(task, ledger)
                    outcomes = await local.analyse(group, cursor)
                # The last group's cursor needs no heartbeat: the activity's result follows at once.
                replayed += await self._record_group(req, outcomes, out, ledger, metrics, beat=i < len(groups) - 1)
                cursor = max(cursor, group[-1].index + 1)
        except asyncio.CancelledError:
            _drop(running)
            raise

        def price(counts: CallCounts) -> Usage:
            return self._deps.prices.usage(req.model.provider, self._model_name(req), counts)

        raw = out.usage
        out.usage = ledger.with_earlier(price(CallCounts.of(raw)), price)
        if replayed.calls:
            out.usage += price(replayed).as_replayed()
        metrics.run_finished("completed", resumed=False, usage=out.usage)
        return out

    async def _record_group(
        self,
        req: DocBatchRequest,
        outcomes: list[DocumentOutcome],
        out: DocBatchResult,
        ledger: UsageLedger,
        metrics: GraphMetrics,
        *,
        beat: bool,
    ) -> CallCounts:
        """Index and record a group's outcomes; the calls the call log answered in it."""
        replayed = CallCounts()
        pending: list[tuple[DocRecord, Document | None]] = []
        for outcome in outcomes:
            if outcome.recorded:
                self._count(outcome.record, out, repeat=True, retry=req.retry)
                continue
            for node, tokens_in, tokens_out in outcome.calls:
                metrics.on_model_call(node, tokens_in, tokens_out)
            for node, seconds, ok in outcome.nodes:
                metrics.on_node(node, seconds, ok)
            for node, tokens_in, tokens_out in outcome.replayed:
                metrics.on_replayed_call(node, tokens_in, tokens_out)
                replayed += CallCounts(calls=1, tokens_in=tokens_in, tokens_out=tokens_out)
            out.analysed += int(outcome.analysed)
            pending.append((outcome.record, outcome.memory_doc))
        if not pending:
            return replayed
        # Index the group's results in one upsert, then record each document, then move the cursor.
        # Records come last: a crash before them leaves result artifacts that the retry reads
        # back (not re-analysed) and indexes again (content-hash ids: nothing doubles).
        docs = [d for _, d in pending if d is not None]
        if docs:
            collection = results_collection(req.job_id)
            await self._upserts.upsert(collection, self._deps.memory(collection), docs)
        await asyncio.to_thread(self._write_records, req.job_id, pending, ledger)
        for record, _ in pending:
            self._count(record, out, repeat=False, retry=req.retry)
        _count_metrics([record for record, _ in pending])
        if beat:
            activity.heartbeat({"cursor": pending[-1][0].index + 1})
        return replayed

    def _metrics(self, graph: str, model: ModelChoice) -> GraphMetrics:
        info, label = activity.info(), self._deps.model_label(model)
        return GraphMetrics(
            activity.metric_meter(), graph=graph, model=label, queue=info.task_queue, attempt=info.attempt
        )

    def _model_name(self, req: DocBatchRequest | ReduceRequest) -> str | None:
        return self._deps.model_label(req.model).partition(":")[2] or None

    def _write_records(
        self, job_id: str, pending: list[tuple[DocRecord, Document | None]], ledger: UsageLedger
    ) -> None:
        for record, _ in pending:
            write_record(self._deps.artifacts, job_id, record)
            if not record.ok:
                ledger.settle(unit(record.index))  # a failure's calls live in its record alone

    @staticmethod
    def _count(record: DocRecord, out: DocBatchResult, *, repeat: bool, retry: bool) -> None:
        if repeat:
            out.skipped += 1
            if retry and record.ok:
                return  # a retry pass counts only documents it changed
        if record.ok:
            out.done += 1
            out.reused += record.reused
            out.chunks += record.chunks
        else:
            out.failed += 1
        out.usage += record.usage.unpriced()  # priced once, for the whole result, by the activity

    async def _ingest_entries(
        self, req: DocBatchRequest, entries: list[ManifestEntry], out: DocBatchResult
    ) -> DocBatchResult:
        """Ingest mode: chunk and index the micro-batch's documents in one run (their chunks share
        store writes, as the ingest activity's do), then record each; a crash before the records
        re-ingests them (content-hash ids, stale chunks replaced: nothing doubles)."""
        todo: list[tuple[DocRecord, TextDocument | None]] = []
        for entry in entries:
            record = read_record(self._deps.artifacts, req.job_id, entry.index)
            if record is not None and (record.ok or not req.retry):
                self._count(record, out, repeat=True, retry=req.retry)
                continue
            text, title, problem = read_entry(self._deps.artifacts, entry, self._deps.memory_settings.max_file_bytes)
            base = DocRecord(index=entry.index, source=entry.source, task="ingest")
            if problem is not None:
                todo.append((base.replace(error=problem), None))
            else:
                todo.append((base, TextDocument(key=entry.source, source=entry.source, title=title, text=text)))
        docs = [d for _, d in todo if d is not None]
        if docs:
            memory = self._deps.memory(req.collection or "research")
            try:
                counts = await asyncio.to_thread(ingest_documents, docs, memory, settings=self._deps.memory_settings)
            except Exception as exc:  # the store failed: the activity's retry re-ingests the group
                raise to_application_error(exc) from exc
            chunks = iter(counts)
            todo = [(record.replace(ok=True, chunks=next(chunks)) if doc else record, doc) for record, doc in todo]
        for record, _ in todo:
            write_record(self._deps.artifacts, req.job_id, record)
            self._count(record, out, repeat=False, retry=req.retry)
        _count_metrics([record for record, _ in todo])
        if todo:
            activity.heartbeat({"cursor": todo[-1][0].index + 1})
        return out

    # --- reduce ----------------------------------------------------------------

    @activity.defn(name=names.BATCH_REDUCE)
    async def reduce(self, req: ReduceRequest) -> ReduceResult:
        """Reduce at most R analyses into one (in the document pool when there is one); the final
        step also renders the report."""
        try:
            task = ReduceTask(
                job_id=req.job_id, spec=self._deps.registry.get(req.graph),
                model=self._deps.model_settings_for(req.model), artifacts_root=self._deps.artifacts.root,
                keys=req.keys or [reduction_key(req.job_id, req.round, req.level - 1, g) for g in req.below],
                start=req.start, end=req.end, question=req.question, notes=req.notes,
            )  # fmt: skip
            metrics = self._metrics(req.graph, req.model)
        except Exception as exc:
            raise to_application_error(exc) from exc
        step: ReduceOutput | None = None
        if self._pool is not None:
            try:
                step = await beating(self._pool.submit_reduce(task), None)
            except PoolUnavailable as exc:
                activity.logger.warning("reduce step run in this process: %s", exc)
        if step is None:
            runner = make_runner(task.spec, task.model)
            step = await beating(ThreadWork(reduce_group, task, runner), None)
        for node, tokens_in, tokens_out in step.calls:
            metrics.on_model_call(node, tokens_in, tokens_out)
        for node, seconds, ok in step.nodes:
            metrics.on_node(node, seconds, ok)
        if step.failure is not None:
            raise from_portable(step.failure)
        if step.analysis is None:
            return ReduceResult()
        analysis = step.analysis
        usage = self._deps.prices.usage(req.model.provider, self._model_name(req), step.counts)
        metrics.run_finished("completed", resumed=False, usage=usage)
        key = reduction_key(req.job_id, req.round, req.level, req.group)
        self._deps.artifacts.put_text(key, analysis.model_dump_json())
        report = self._report(req, analysis, usage) if req.final else None
        return ReduceResult(
            key=key, documents=analysis.documents, claims=len(analysis.claims), report=report, usage=usage
        )

    def _report(self, req: ReduceRequest, analysis: DocumentAnalysis, usage: Usage) -> ReportRef:
        totals = req.totals
        title = f"Batch report: {req.question}" if req.question else f"Batch report: {analysis.documents} documents"
        lines = [f"# {title}", "", analysis.summary, "", "## Claims", ""]
        for n, claim in enumerate(analysis.claims, start=1):
            lines.append(f'{n}. {claim.text} (`{claim.source}`: "{claim.quote[:200]}")')
        if not analysis.claims:
            lines.append("No claim with a verbatim quote survived the reduction.")
        footer = (
            f"{totals.get('done', analysis.documents)} of {totals.get('total', '?')} documents analysed with "
            f"`{req.source_graph}` ({totals.get('failed', 0)} failed, {totals.get('reused', 0)} reused), "
            f"reduced with `{req.graph}` in a tree of at most {totals.get('fanin', '?')} inputs per step."
        )
        lines += ["", "## How this was made", "", footer]
        if req.notes:
            lines += ["", f"Revised (revision {req.revision}) with the reviewer's notes: {req.notes}"]
        markdown = "\n".join(lines).rstrip() + "\n"
        if req.usage_so_far is not None:
            markdown = markdown.rstrip("\n") + usage_footer(req.usage_so_far + usage)
        key = batch_report_key(req.job_id, req.round, req.revision)
        self._deps.artifacts.put_text(key, markdown)
        return ReportRef(key=key, title=title, preview=markdown[:1500], chars=len(markdown),
                         references=len(analysis.claims))  # fmt: skip

    @activity.defn(name=names.BATCH_CHECK_GRAPH)
    async def check_graph(self, req: GraphCheck) -> str:
        """The CLI's fitness check, where the graph will run: a swap sent by any client is checked."""
        try:
            check_batch_graph(self._deps.registry, req.graph, req.step)
        except Exception as exc:
            raise to_application_error(exc) from exc
        return req.graph

    # --- manifest (for workflows, which cannot walk folders themselves) ---------

    @activity.defn(name=names.BATCH_MANIFEST)
    async def write_manifest(self, req: ManifestRequest) -> ManifestRef:
        """Resolve a research job's corpus sources into a manifest for the batch engine's ingest."""
        try:
            summary = await asyncio.to_thread(
                write_manifest, self._deps.artifacts, req.job_id, req.sources, self._deps.memory_settings
            )
        except Exception as exc:
            raise to_application_error(exc) from exc
        return ManifestRef(key=summary.key, total=summary.total, readable=summary.readable)

    def all(self) -> list[Any]:
        """The reasoning queue's batch activities (the manifest writer runs on the io queue)."""
        return [self.analyse_documents, self.reduce, self.check_graph]


def _drop(running: list[PoolGroup], why: str | None = None) -> None:
    """Stop the groups still in the pool (each before its next document) and forget them."""
    if why:
        activity.logger.warning(why)
    for group in running:
        group.cancel()
    running.clear()


def _on_loop_thread() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _count_metrics(records: list[DocRecord]) -> None:
    """Documents (and an ingest's chunks) this attempt recorded, for Prometheus; never raises."""
    outcomes = Counter("failed" if not r.ok else "reused" if r.reused else "done" for r in records)
    meter, queue = activity.metric_meter(), activity.info().task_queue
    for outcome, documents in outcomes.items():
        count_batch_documents(meter, documents, queue=queue, outcome=outcome)
    chunks = sum(r.chunks for r in records if r.task == "ingest")
    count_ingest_chunks(meter, chunks, queue=queue, outcome="indexed")
