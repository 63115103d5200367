"""Documents in threads: a batch whose graph waits on its model, against one document at a time.

Run: ``.venv/bin/python -m experiments.benchmarks.doc_threads_bench [--profile quick|full]``.

The same batch (``summarize@1``, the fake model sleeping `latency` per call, as a model over the
network waits) runs twice per latency on a private dev server, with the worker's document pool
(one process per CPU): once with ``batch_doc_threads=1`` (the previous implementation: each pool
process analysed one document at a time, so a batch kept only as many model calls in flight as
it had processes) and once with the default, where a process that finds the graph waiting
analyses a group's documents at once in threads. Printed: documents/s of each and their ratio.
At latency 0 the graph computes, threads stay off, and the two runs should match.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import typer

from experiments.benchmarks.batch_bench import _spec, batch_run, write_docs
from experiments.benchmarks.private_server import private_server
from orchestration.activities import pool_size
from orchestration.activities.batch_documents import DOC_THREADS

RESULTS_FILE = Path(__file__).parent / "results" / "doc_threads.json"
# (latency of one model call in s, documents): one document at a time takes documents x latency / processes.
FULL = ((0.0, 3000), (0.05, 600), (0.5, 200))
QUICK = ((0.0, 150), (0.05, 100))


async def run(cases: tuple[tuple[float, int], ...], folder: Path, parallelism: int = 4) -> dict[str, Any]:
    out: dict[str, Any] = {
        "processes": pool_size(None),
        "doc_threads": DOC_THREADS,
        "parallelism": parallelism,
        "micro_batch": 25,
        "load_before": os.getloadavg()[0],
        "cases": [],
    }
    for latency, docs in cases:
        corpus = write_docs(folder / f"corpus-{docs}", docs)
        spec = _spec(docs, parallelism, 25)
        runs: dict[str, Any] = {}
        for label, threads in (("one_at_a_time", 1), ("threads", DOC_THREADS)):
            name = f"{label}-{latency}"
            async with private_server(folder / f"server-{name}") as (client, _):
                r = await batch_run(
                    client, folder / f"home-{name}", corpus, spec, "local", latency_s=latency, doc_threads=threads
                )
            runs[label] = {k: r[k] for k in ("documents", "done", "failed", "status", "wall_s", "docs_per_s")}
        ratio = round(runs["threads"]["docs_per_s"] / runs["one_at_a_time"]["docs_per_s"], 2)
        out["cases"].append({"latency_s": latency, "documents": docs, **runs, "ratio": ratio})
    out["load_after"] = os.getloadavg()[0]
    return out


def readme_lines(r: dict[str, Any]) -> list[str]:
    """The lines the docs quote from a result (tests/experiments/test_doc_threads_bench.py checks them)."""
    return [
        f"model call {c['latency_s']} s, {c['documents']} docs: one at a time {c['one_at_a_time']['docs_per_s']} "
        f"docs/s, threads {c['threads']['docs_per_s']} docs/s = {c['ratio']}x"
        for c in r["cases"]
    ]


app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


@app.command()
def main(
    profile: str = typer.Option("full", "--profile", help="quick: two small cases; full: latency 0, 0.05 and 0.5 s."),
    out: Path | None = typer.Option(None, "--out", help="JSON file (full profile default: results/doc_threads.json)."),
) -> None:
    """Documents/s of a batch with threads per pool process against one document at a time."""
    with tempfile.TemporaryDirectory() as tmp:
        result = asyncio.run(run(FULL if profile == "full" else QUICK, Path(tmp)))
    for line in readme_lines(result):
        print(line)
    print(f"processes {result['processes']}, load {result['load_before']:.1f} -> {result['load_after']:.1f}")
    target = out or (RESULTS_FILE if profile == "full" else None)
    if target is not None:
        target.write_text(json.dumps(result, indent=2) + "\n")
        print(f"written {target}")


if __name__ == "__main__":
    app()
