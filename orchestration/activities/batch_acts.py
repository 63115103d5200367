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
import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Any

from temporalio import activity

from orchestration.activities.deps import WorkerDeps
from orchestration.activities.errors import to_application_error
from orchestration.activities.manifest import ManifestEntry, read_range, write_manifest
from orchestration.activities.reasoning_acts import usage_footer
from orchestration.activities.usage_ledger import UsageLedger
from orchestration.artifacts import batch_report_key, doc_record_key, reduction_key, result_key
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
from orchestration.shared.messages import ReportRef
from orchestration.shared.spec import ModelChoice
from orchestration.shared.usage import Usage
from orchestration.telemetry.metrics import GraphMetrics, count_batch_documents, count_ingest_chunks
from reasoning.batch_fit import check_batch_graph
from reasoning.batch_runner import GraphOverInputs
from reasoning.context import GraphContext
from reasoning.errors import ConfigError, ModelError
from reasoning.runner import arun_graph
from reasoning.types import DocumentAnalysis, DocumentInput, Evidence, SynthesisInput
from retrieval import Document, SkippedFile, chunk_id, ingest_documents
from retrieval.pkgdocs import TextDocument
from retrieval.sources import read_file

# Documents are indexed and recorded in groups of this many: one upsert per group, not per document
# (a local Chroma upsert costs ~15 ms whatever its size; 25, the default micro-batch, measured
# 152 documents/s in one process against 133 with groups of 10). A crash before a group's records
# costs no analysis: the retry reads its results back.
_FLUSH_EVERY = 25


class _NoEvidence:
    """Per-document and reduce graphs read their input, not the memory."""

    def retrieve(self, query: str, k: int = 5) -> list[Evidence]:
        return []


class BatchActivities:
    def __init__(self, deps: WorkerDeps) -> None:
        self._deps = deps

    # --- documents -------------------------------------------------------------

    @activity.defn(name=names.BATCH_DOCUMENTS)
    async def analyse_documents(self, req: DocBatchRequest) -> DocBatchResult:
        """Analyse manifest entries [start, end); finished ones are indexed and recorded in groups."""
        store = self._deps.artifacts
        try:
            entries = await asyncio.to_thread(read_range, store, req.manifest_key, req.start, req.end)
            runner, metrics = None, None
            if req.task == "analyse":
                context = GraphContext(retriever=_NoEvidence(), model=self._deps.model(req.model))
                metrics = self._metrics(req.graph, req.model)
                runner = GraphOverInputs(self._deps.registry.get(req.graph), context, observer=metrics)
        except Exception as exc:
            raise to_application_error(exc) from exc
        details = activity.info().heartbeat_details
        cursor = int(details[0].get("cursor", req.start)) if details and isinstance(details[0], dict) else req.start
        out = DocBatchResult()
        if req.task == "ingest":
            return await self._ingest_entries(req, entries, out)
        with UsageLedger.for_activity(store) as ledger:
            if runner is not None:
                runner.observe(ledger.observer(metrics))
            return await self._analyse_entries(req, entries, runner, cursor, out, ledger, metrics)

    async def _analyse_entries(
        self,
        req: DocBatchRequest,
        entries: list[ManifestEntry],
        runner: GraphOverInputs | None,
        cursor: int,
        out: DocBatchResult,
        ledger: UsageLedger,
        metrics: GraphMetrics | None,
    ) -> DocBatchResult:
        """Records carry each document's calls; the ledger adds those of an earlier attempt's
        document in flight (no record, no result), so the sum counts every call once."""
        pending: list[tuple[dict[str, Any], Document | None]] = []
        for entry in entries:
            # Small files are read and written inline: a thread hop costs more than the I/O.
            record = self._record(req.job_id, entry.index)
            if record is not None and (record.get("ok") or not req.retry):
                self._count(record, out, repeat=True, retry=req.retry)
                continue  # finished by an earlier attempt (at or before the heartbeated cursor)
            if entry.index < cursor:
                activity.logger.warning("entry %s is before the cursor %s but has no record", entry.index, cursor)
            ledger.begin(_unit(entry.index))
            record, memory_doc = await self._one(req, entry, runner, ledger)
            ledger.begin(None)
            out.analysed += int(bool(record.pop("analysed", False)))
            pending.append((record, memory_doc))
            if len(pending) >= _FLUSH_EVERY:
                await self._flush(req, pending, out, ledger)
            activity.heartbeat({"cursor": cursor})  # alive; the cursor moves when a group is recorded
        await self._flush(req, pending, out, ledger)

        def price(calls: int, tokens_in: int, tokens_out: int) -> Usage:
            return self._deps.prices.usage(req.model.provider, self._model_name(req), calls, tokens_in, tokens_out)

        raw = out.usage
        out.usage = ledger.with_earlier(price(raw.model_calls, raw.input_tokens, raw.output_tokens), price)
        if metrics is not None:
            metrics.run_finished("completed", resumed=False, usage=out.usage)
        return out

    def _metrics(self, graph: str, model: ModelChoice) -> GraphMetrics:
        info, label = activity.info(), self._deps.model_label(model)
        return GraphMetrics(
            activity.metric_meter(), graph=graph, model=label, queue=info.task_queue, attempt=info.attempt
        )

    def _model_name(self, req: DocBatchRequest | ReduceRequest) -> str | None:
        return self._deps.model_label(req.model).partition(":")[2] or None

    async def _flush(
        self,
        req: DocBatchRequest,
        pending: list[tuple[dict[str, Any], Document | None]],
        out: DocBatchResult,
        ledger: UsageLedger | None = None,
    ) -> None:
        """Index the group's results in one upsert, then record each document, then move the cursor.

        Records come last: a crash before them leaves result artifacts that the retry reads
        back (not re-analysed) and indexes again (content-hash ids: nothing doubles).
        """
        if not pending:
            return
        docs = [d for _, d in pending if d is not None]
        if docs:
            memory = self._deps.memory(results_collection(req.job_id))
            await asyncio.to_thread(memory.upsert, docs)
        store = self._deps.artifacts
        for record, _ in pending:
            store.put_text(doc_record_key(req.job_id, record["index"]), json.dumps(record))
            if ledger is not None and not record.get("ok"):
                ledger.settle(_unit(record["index"]))  # a failure's calls live in its record alone
            self._count(record, out, repeat=False, retry=req.retry)
        _count_metrics([record for record, _ in pending])
        activity.heartbeat({"cursor": pending[-1][0]["index"] + 1})
        pending.clear()

    @staticmethod
    def _count(record: dict[str, Any], out: DocBatchResult, *, repeat: bool, retry: bool) -> None:
        if repeat:
            out.skipped += 1
            if retry and record.get("ok"):
                return  # a retry pass counts only documents it changed
        if record.get("ok"):
            out.done += 1
            out.reused += bool(record.get("reused"))
            out.chunks += int(record.get("chunks", 0))
        else:
            out.failed += 1
        spent = record.get("usage") or {}
        out.usage += Usage(  # priced once, for the whole result, by the activity
            model_calls=int(spent.get("calls", 0)),
            input_tokens=int(spent.get("in", 0)),
            output_tokens=int(spent.get("out", 0)),
        )

    def _record(self, job_id: str, index: int) -> dict[str, Any] | None:
        key = doc_record_key(job_id, index)
        store = self._deps.artifacts
        return json.loads(store.get_text(key)) if store.exists(key) else None

    async def _ingest_entries(
        self, req: DocBatchRequest, entries: list[ManifestEntry], out: DocBatchResult
    ) -> DocBatchResult:
        """Ingest mode: chunk and index the micro-batch's documents in one run (their chunks share
        store writes, as the ingest activity's do), then record each; a crash before the records
        re-ingests them (content-hash ids, stale chunks replaced: nothing doubles)."""
        todo: list[tuple[dict[str, Any], TextDocument | None]] = []
        for entry in entries:
            record = self._record(req.job_id, entry.index)
            if record is not None and (record.get("ok") or not req.retry):
                self._count(record, out, repeat=True, retry=req.retry)
                continue
            text, title, problem = self._read(entry)
            base: dict[str, Any] = {"index": entry.index, "source": entry.source, "task": "ingest"}
            if problem is not None:
                todo.append((base | {"ok": False, "error": problem}, None))
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
            for record, doc in todo:
                if doc is not None:
                    record |= {"ok": True, "chunks": next(chunks)}
        for record, _ in todo:
            self._deps.artifacts.put_text(doc_record_key(req.job_id, record["index"]), json.dumps(record))
            self._count(record, out, repeat=False, retry=req.retry)
        _count_metrics([record for record, _ in todo])
        if todo:
            activity.heartbeat({"cursor": todo[-1][0]["index"] + 1})
        return out

    async def _one(
        self, req: DocBatchRequest, entry: ManifestEntry, runner: GraphOverInputs | None, ledger: UsageLedger
    ) -> tuple[dict[str, Any], Document | None]:
        """One document's record (not yet written) and its memory document when it succeeded."""
        record: dict[str, Any] = {"index": entry.index, "source": entry.source, "graph": req.graph}
        text, title, problem = self._read(entry)
        if problem is not None:
            return record | {"ok": False, "error": problem}, None
        digest = hashlib.sha256(text.encode()).hexdigest()[:32]
        record |= {"hash": digest, "result": result_key(req.job_id, digest)}
        outcome, stored = await self._analyse(req, entry, runner, text, title, digest, ledger)
        record |= outcome
        if stored is None:
            return record, None
        graph, analysis = stored
        record["graph"] = graph
        return record, self._memory_doc(req.job_id, entry, title, digest, graph, analysis)

    def _read(self, entry: ManifestEntry) -> tuple[str, str, str | None]:
        if entry.kind == "text":
            return self._deps.artifacts.get_text(entry.ref), entry.title, None
        got = read_file(Path(entry.ref), self._deps.memory_settings.max_file_bytes)
        if isinstance(got, SkippedFile):
            return "", "", f"not a readable file ({got.reason})"
        if not got.text.strip():
            return "", "", "the document has no text"
        return got.text, got.title, None

    async def _analyse(
        self,
        req: DocBatchRequest,
        entry: ManifestEntry,
        runner: GraphOverInputs | None,
        text: str,
        title: str,
        digest: str,
        ledger: UsageLedger,
    ) -> tuple[dict[str, Any], tuple[str, DocumentAnalysis] | None]:
        """Run the graph, or take the stored result of equal content (this batch's, or --reuse's)."""
        store = self._deps.artifacts
        for job, reused in ((req.job_id, False), (req.reuse_job, True)):
            if job and store.exists(result_key(job, digest)):
                earlier = json.loads(store.get_text(result_key(job, digest)))
                if not reused or earlier.get("graph") == req.graph:
                    stored = (earlier["graph"], DocumentAnalysis.model_validate(earlier["analysis"]))
                    if reused:
                        self._write_result(req.job_id, entry, digest, *stored, usage={})
                    outcome: dict[str, Any] = {"ok": True, "reused": reused}
                    if not reused and earlier.get("index") == entry.index:
                        # This very document, analysed by an attempt killed before it recorded it:
                        # what that run spent is counted here, once (a duplicate's is not).
                        outcome["usage"] = earlier.get("usage", {})
                        ledger.settle(_unit(entry.index))
                    return outcome, stored
        assert runner is not None, "analyse mode builds a runner"
        doc = DocumentInput(source=entry.source, title=title, text=text, question=req.question)
        meter = runner.meter
        before = (meter.model_calls, meter.input_tokens, meter.output_tokens)

        def spent() -> dict[str, int]:
            now = (meter.model_calls, meter.input_tokens, meter.output_tokens)
            return dict(zip(("calls", "in", "out"), (b - a for a, b in zip(before, now, strict=True)), strict=True))

        error = ""
        for attempt in range(1, req.doc_attempts + 1):
            try:
                analysis = DocumentAnalysis.model_validate(await runner.run(doc))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # one document's failure is recorded; the batch goes on
                error = f"{type(exc).__name__}: {exc}"[:500]
                if _final(exc):
                    break
                activity.heartbeat({"retrying": entry.index, "attempt": attempt})
                continue
            self._write_result(req.job_id, entry, digest, req.graph, analysis, usage=spent())
            ledger.settle(_unit(entry.index))  # the result carries these calls now
            return {"ok": True, "analysed": True, "usage": spent()}, (req.graph, analysis)
        return {"ok": False, "error": error, "analysed": True, "usage": spent()}, None

    def _write_result(
        self,
        job_id: str,
        entry: ManifestEntry,
        digest: str,
        graph: str,
        analysis: DocumentAnalysis,
        *,
        usage: dict[str, int],
    ) -> None:
        payload = {
            "graph": graph, "source": entry.source, "index": entry.index, "hash": digest, "usage": usage,
            "analysis": analysis.model_dump(mode="json"),
        }  # fmt: skip
        self._deps.artifacts.put_text(result_key(job_id, digest), json.dumps(payload))

    @staticmethod
    def _memory_doc(
        job_id: str, entry: ManifestEntry, title: str, digest: str, graph: str, analysis: DocumentAnalysis
    ) -> Document:
        body = analysis.summary + "\n" + "\n".join(f"- {c.text}" for c in analysis.claims)
        meta: dict[str, str | int | float | bool] = {
            "source": entry.source, "title": title or entry.title or entry.source, "batch": job_id,
            "doc_hash": digest, "graph": graph,
        }  # fmt: skip
        return Document(id=chunk_id(f"{job_id}:{digest}", body), text=body, metadata=meta)

    # --- reduce ----------------------------------------------------------------

    @activity.defn(name=names.BATCH_REDUCE)
    async def reduce(self, req: ReduceRequest) -> ReduceResult:
        """Reduce at most R analyses into one; the final step also renders the report."""
        try:
            parts = await asyncio.to_thread(self._parts, req)
            if not parts:
                return ReduceResult()
            spec = self._deps.registry.get(req.graph)
            context = GraphContext(retriever=_NoEvidence(), model=self._deps.model(req.model))
            synthesis = SynthesisInput(question=req.question, parts=parts, notes=req.notes)
            metrics = self._metrics(req.graph, req.model)
            run = await arun_graph(spec, synthesis, context=context, observer=metrics)
            analysis = DocumentAnalysis.model_validate(run.output)
        except Exception as exc:
            raise to_application_error(exc) from exc
        usage = self._deps.prices.usage(
            req.model.provider, self._model_name(req), run.model_calls, run.input_tokens, run.output_tokens
        )
        metrics.run_finished("completed", resumed=False, usage=usage)
        analysis.documents = sum(p.documents for p in parts)
        key = reduction_key(req.job_id, req.round, req.level, req.group)
        self._deps.artifacts.put_text(key, analysis.model_dump_json())
        report = self._report(req, analysis, usage) if req.final else None
        return ReduceResult(
            key=key, documents=analysis.documents, claims=len(analysis.claims), report=report, usage=usage
        )

    def _parts(self, req: ReduceRequest) -> list[DocumentAnalysis]:
        store = self._deps.artifacts
        keys = req.keys or [reduction_key(req.job_id, req.round, req.level - 1, g) for g in req.below]
        if keys:
            return [DocumentAnalysis.model_validate_json(store.get_text(k)) for k in keys]
        seen: set[str] = set()
        parts = []
        for index in range(req.start, req.end):
            record = self._record(req.job_id, index)
            if not record or not record.get("ok") or record["result"] in seen:
                continue
            seen.add(record["result"])
            parts.append(DocumentAnalysis.model_validate(json.loads(store.get_text(record["result"]))["analysis"]))
        return parts

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


def _count_metrics(records: list[dict[str, Any]]) -> None:
    """Documents (and an ingest's chunks) this attempt recorded, for Prometheus; never raises."""
    outcomes = Counter("failed" if not r.get("ok") else "reused" if r.get("reused") else "done" for r in records)
    meter, queue = activity.metric_meter(), activity.info().task_queue
    for outcome, documents in outcomes.items():
        count_batch_documents(meter, documents, queue=queue, outcome=outcome)
    chunks = sum(int(r.get("chunks", 0)) for r in records if r.get("task") == "ingest")
    count_ingest_chunks(meter, chunks, queue=queue, outcome="indexed")


def _unit(index: int) -> str:
    """A document's unit in the usage ledger."""
    return f"doc-{index}"


def _final(exc: Exception) -> bool:
    """A retry inside the activity cannot help: misuse, or a provider's non-retryable answer."""
    return isinstance(exc, ConfigError) or (isinstance(exc, ModelError) and not exc.retryable)
