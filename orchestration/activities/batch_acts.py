"""Batch activities: analyse a micro-batch of documents (resuming after the last finished
one), and reduce groups of results into one analysis, then into the report.

Idempotent by construction: a document's record (`docs/<index>.json`) is written last,
after its result artifact (keyed by content hash) and its memory upsert (content-hash
id); a retry skips recorded documents, starts at the heartbeated cursor, and rewrites
the same keys for anything it repeats.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path
from typing import Any

from temporalio import activity

from orchestration.activities.deps import WorkerDeps
from orchestration.activities.errors import to_application_error
from orchestration.activities.manifest import ManifestEntry, read_range
from orchestration.artifacts import doc_record_key, reduction_key, report_key, result_key
from orchestration.shared import names
from orchestration.shared.batch import DocBatchRequest, DocBatchResult, ReduceRequest, ReduceResult, results_collection
from orchestration.shared.messages import ReportRef
from reasoning.context import GraphContext
from reasoning.errors import ConfigError, ModelError
from reasoning.runner import arun_graph
from reasoning.types import DocumentAnalysis, DocumentInput, Evidence, SynthesisInput
from retrieval import Document, SkippedFile, chunk_id
from retrieval.sources import read_file


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
        """Analyse manifest entries [start, end); each finished one is recorded and heartbeated."""
        store = self._deps.artifacts
        try:
            entries = await asyncio.to_thread(read_range, store, req.manifest_key, req.start, req.end)
            spec = self._deps.registry.get(req.graph)
            context = GraphContext(retriever=_NoEvidence(), model=self._deps.model(req.model))
        except Exception as exc:
            raise to_application_error(exc) from exc
        details = activity.info().heartbeat_details
        cursor = int(details[0].get("cursor", req.start)) if details and isinstance(details[0], dict) else req.start
        out = DocBatchResult()
        for entry in entries:
            if entry.index < cursor:  # finished by an earlier attempt (its heartbeat said so)
                self._count_recorded(req, entry.index, out)
                continue
            record = await asyncio.to_thread(self._record, req.job_id, entry.index)
            if record is not None and (record.get("ok") or not req.retry):
                self._count(record, out, repeat=True, retry=req.retry)
                activity.heartbeat({"cursor": entry.index + 1})
                continue
            record = await self._one(req, entry, spec, context)
            out.analysed += 0 if record.get("reused") else 1
            self._count(record, out, repeat=False, retry=req.retry)
            activity.heartbeat({"cursor": entry.index + 1})
        return out

    def _count_recorded(self, req: DocBatchRequest, index: int, out: DocBatchResult) -> None:
        record = self._record(req.job_id, index)
        if record is not None:
            self._count(record, out, repeat=True, retry=req.retry)

    @staticmethod
    def _count(record: dict[str, Any], out: DocBatchResult, *, repeat: bool, retry: bool) -> None:
        if repeat:
            out.skipped += 1
            if retry and record.get("ok"):
                return  # a retry pass counts only documents it changed
        if record.get("ok"):
            out.done += 1
            out.reused += bool(record.get("reused"))
        else:
            out.failed += 1

    def _record(self, job_id: str, index: int) -> dict[str, Any] | None:
        key = doc_record_key(job_id, index)
        store = self._deps.artifacts
        return json.loads(store.get_text(key)) if store.exists(key) else None

    async def _one(self, req: DocBatchRequest, entry: ManifestEntry, spec: Any, context: GraphContext) -> dict:
        record: dict[str, Any] = {"index": entry.index, "source": entry.source, "graph": req.graph}
        text, title, problem = await asyncio.to_thread(self._read, entry)
        if problem is not None:
            record |= {"ok": False, "error": problem}
        else:
            digest = hashlib.sha256(text.encode()).hexdigest()[:32]
            record |= {"hash": digest, "result": result_key(req.job_id, digest)}
            record |= await self._analyse(req, entry, spec, context, text, title, digest)
        await asyncio.to_thread(
            self._deps.artifacts.put_text, doc_record_key(req.job_id, entry.index), json.dumps(record)
        )
        return record

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
        self, req: DocBatchRequest, entry: ManifestEntry, spec: Any, context: GraphContext,
        text: str, title: str, digest: str,
    ) -> dict[str, Any]:  # fmt: skip
        store = self._deps.artifacts
        mine = result_key(req.job_id, digest)
        if store.exists(mine):  # the same content earlier in this batch, or an earlier attempt
            return {"ok": True}
        if req.reuse_job and store.exists(result_key(req.reuse_job, digest)):
            earlier = json.loads(store.get_text(result_key(req.reuse_job, digest)))
            if earlier.get("graph") == req.graph:
                analysis = DocumentAnalysis.model_validate(earlier["analysis"])
                await asyncio.to_thread(self._store_result, req, entry, digest, analysis, earlier["graph"])
                return {"ok": True, "reused": True}
        doc = DocumentInput(source=entry.source, title=title, text=text, question=req.question)
        error = ""
        for attempt in range(1, req.doc_attempts + 1):
            try:
                run = await arun_graph(spec, doc, context=context)
                analysis = DocumentAnalysis.model_validate(run.output)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # one document's failure is recorded; the batch goes on
                error = f"{type(exc).__name__}: {exc}"[:500]
                if _final(exc):
                    break
                activity.heartbeat({"cursor": entry.index, "retrying": attempt})
                continue
            await asyncio.to_thread(self._store_result, req, entry, digest, analysis, req.graph)
            return {"ok": True}
        return {"ok": False, "error": error}

    def _store_result(
        self, req: DocBatchRequest, entry: ManifestEntry, digest: str, analysis: DocumentAnalysis, graph: str
    ) -> None:
        """Memory first, artifact second: a crash between them leaves no artifact, so the retry redoes both."""
        body = analysis.summary + "\n" + "\n".join(f"- {c.text}" for c in analysis.claims)
        meta: dict[str, str | int | float | bool] = {
            "source": entry.source, "title": entry.title or entry.source, "batch": req.job_id,
            "doc_hash": digest, "graph": graph,
        }  # fmt: skip
        memory = self._deps.memory(results_collection(req.job_id))
        memory.upsert([Document(id=chunk_id(f"{req.job_id}:{digest}", body), text=body, metadata=meta)])
        payload = {"graph": graph, "source": entry.source, "hash": digest, "analysis": analysis.model_dump(mode="json")}
        self._deps.artifacts.put_text(result_key(req.job_id, digest), json.dumps(payload))

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
            run = await arun_graph(spec, SynthesisInput(question=req.question, parts=parts), context=context)
            analysis = DocumentAnalysis.model_validate(run.output)
        except Exception as exc:
            raise to_application_error(exc) from exc
        analysis.documents = sum(p.documents for p in parts)
        key = reduction_key(req.job_id, req.round, req.level, req.group)
        self._deps.artifacts.put_text(key, analysis.model_dump_json())
        report = self._report(req, analysis) if req.final else None
        return ReduceResult(key=key, documents=analysis.documents, claims=len(analysis.claims), report=report)

    def _parts(self, req: ReduceRequest) -> list[DocumentAnalysis]:
        store = self._deps.artifacts
        if req.keys:
            return [DocumentAnalysis.model_validate_json(store.get_text(k)) for k in req.keys]
        seen: set[str] = set()
        parts = []
        for index in range(req.start, req.end):
            record = self._record(req.job_id, index)
            if not record or not record.get("ok") or record["result"] in seen:
                continue
            seen.add(record["result"])
            parts.append(DocumentAnalysis.model_validate(json.loads(store.get_text(record["result"]))["analysis"]))
        return parts

    def _report(self, req: ReduceRequest, analysis: DocumentAnalysis) -> ReportRef:
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
        markdown = "\n".join(lines).rstrip() + "\n"
        key = report_key(req.job_id, 1, req.round)
        self._deps.artifacts.put_text(key, markdown)
        return ReportRef(key=key, title=title, preview=markdown[:1500], chars=len(markdown),
                         references=len(analysis.claims))  # fmt: skip

    def all(self) -> list[Any]:
        return [self.analyse_documents, self.reduce]


def _final(exc: Exception) -> bool:
    """A retry inside the activity cannot help: misuse, or a provider's non-retryable answer."""
    return isinstance(exc, ConfigError) or (isinstance(exc, ModelError) and not exc.retryable)
