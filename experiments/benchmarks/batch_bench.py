"""Batch engine benchmark: documents/s of a batch against a one-activity-per-document design.

Run: ``.venv/bin/python -m experiments.benchmarks.batch_bench [--docs 10000] [--profile quick|full]``.

On private dev servers (WAL), in one run:

1. Limit of the one-activity-per-document design: the same number of bare no-op activities
   (``bench.noop``), shared by as many workflows as the batch has shards, `parallelism` of them at
   a time, each keeping `window x micro_batch` activities in flight (a new one starts as one ends):
   the batch's own bound of `parallelism x window x micro_batch` documents in flight, on one
   in-process worker.
   (Waves of activities, each wave a workflow of its own, measured ~40% below this window.)
2. The batch: ``summarize@1`` (fake model) over N small generated documents, then the reduce
   tree, auto-approved and published, on the same worker settings (its document pool: one
   process per CPU, started before the clock starts, as the no-op arm's worker is). Wall (to
   the batch's result), documents/s, ratio. The two arms run in turn `--repeat` times (full: 3),
   each run on a fresh dev server (same binary and settings): on one shared server the no-op arm,
   bound by the server, slowed ~8% per run as its database grew, so whichever arm ran first on it
   was favoured. The ratio compares each arm's best run, and every pair's own ratio is kept.
3. History: the largest history of any workflow of the batch (events, bytes), workflow count, and
   the parent's and the reduce child's largest run apiece.
4. Worker peak RSS (this process: client and worker) and the pool processes' peak RSS.
5. ``--crash``: the batch again with worker subprocesses, one SIGKILLed mid-run, then again
   with the Temporal server SIGKILLed mid-run: completed, one record/result per document,
   documents analysed twice (fake call log) against micro-batches in flight.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import typer
from temporalio.client import Client
from temporalio.worker import Worker

from experiments.benchmarks.bench_workflows import Chain, ChainWorkflow, noop
from experiments.benchmarks.private_server import private_server
from orchestration.activities import WorkerDeps, pool_size
from orchestration.activities.doc_pool import shared_pool
from orchestration.activities.manifest import ManifestSummary
from orchestration.artifacts import LocalArtifactStore
from orchestration.batch_client import BatchClient, BatchHandle
from orchestration.edge.batch import start_batch
from orchestration.payloads.converter import data_converter
from orchestration.server import EmbeddedServer, _free_port
from orchestration.settings import OrchestrationSettings
from orchestration.shared.batch import BatchSpec
from orchestration.shared.messages import SubtaskRef, SubtaskRequest, TaskQueues, Tuning
from orchestration.shared.spec import ModelChoice
from orchestration.worker import WorkerGroup, WorkerSettings, build_workers

RESULTS_FILE = Path(__file__).parent / "results" / "batch.json"
_TOPICS = ("workflows", "activities", "heartbeats", "retries", "graphs", "checkpoints", "collections", "queries")


def write_docs(folder: Path, count: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        topic = _TOPICS[i % len(_TOPICS)]
        (folder / f"doc-{i:06d}.md").write_text(
            f"# Note {i}\n\nDocument {i} explains {topic} in a durable system. The {topic} of item {i} "
            f"are stored with a content hash. A retry of item {i} never duplicates its {topic}.\n"
        )
    return folder


def _spec(docs: int, parallelism: int, micro_batch: int) -> BatchSpec:
    return BatchSpec(
        model=ModelChoice(provider="fake"),
        parallelism=parallelism,
        micro_batch=micro_batch,
        shard_size=max(100, docs // (parallelism * 4)),
    )


def _deps(home: Path, memory: str, latency_s: float = 0.0) -> WorkerDeps:
    from reasoning import default_registry
    from reasoning.models import ModelSettings
    from reasoning.runner import CheckpointConfig
    from retrieval import MemorySettings

    home.mkdir(parents=True, exist_ok=True)
    return WorkerDeps(
        home=home,
        memory_settings=MemorySettings(mode=memory),  # type: ignore[arg-type]
        model_settings=ModelSettings(provider="fake", fake_call_log=home / "calls.jsonl", fake_latency_s=latency_s),
        registry=default_registry,
        checkpoint=CheckpointConfig(sqlite_dir=home / "checkpoints"),
    )


async def _start(
    batches: BatchClient, deps: WorkerDeps, spec: BatchSpec, corpus: Path, job_id: str
) -> tuple[BatchHandle, ManifestSummary]:
    """Start a batch over `corpus` with the stores and graphs of `deps`."""
    return await start_batch(
        batches, spec, [str(corpus)], store=deps.artifacts, memory=deps.memory_settings, registry=deps.registry,
        job_id=job_id,
    )  # fmt: skip


async def noop_limit(client: Client, docs: int, workflows: int, at_once: int, window: int) -> dict[str, Any]:
    """One bare activity per document: `workflows` workflows share the documents, `at_once` of them
    running at a time, each keeping `window` activities in flight."""
    queue = f"noop-{uuid.uuid4().hex[:6]}"
    request = SubtaskRequest(
        job_id="bench",
        graph="none@1",
        model=ModelChoice(provider="fake"),
        subtask=SubtaskRef(id="s", kind="research", question="q"),
    )
    per = -(-docs // workflows)
    chain = Chain(activity="bench.noop", task_queue=queue, count=per, parallel=True, window=window, request=request)
    gate = asyncio.Semaphore(at_once)
    async with Worker(
        client,
        task_queue=queue,
        workflows=[ChainWorkflow],
        activities=[noop],
        max_concurrent_activities=max(8, at_once * window),
    ):
        started = time.perf_counter()

        async def one_workflow() -> None:
            async with gate:  # like the batch's shards: `parallelism` run at once
                await client.execute_workflow(
                    ChainWorkflow.run,
                    chain,
                    id=f"noop-{uuid.uuid4().hex[:8]}",
                    task_queue=queue,
                )

        await asyncio.gather(*(one_workflow() for _ in range(workflows)))
        wall = time.perf_counter() - started
    return {"activities": per * workflows, "wall_s": round(wall, 2), "per_s": round(per * workflows / wall, 1)}


async def batch_run(
    client: Client,
    home: Path,
    corpus: Path,
    spec: BatchSpec,
    memory: str,
    *,
    latency_s: float = 0.0,
    doc_threads: int | None = None,
) -> dict[str, Any]:
    """One batch on a worker of this process (`latency_s`: the fake model's per call; `doc_threads`:
    the worker's `batch_doc_threads`, None for its default)."""
    deps = _deps(home, memory, latency_s)
    queues = TaskQueues(
        workflows=f"wf-{uuid.uuid4().hex[:6]}", reasoning=f"rs-{uuid.uuid4().hex[:6]}", io=f"io-{uuid.uuid4().hex[:6]}"
    )
    settings = WorkerSettings(reasoning_concurrency=max(8, spec.parallelism * (spec.window + 1)), graceful_shutdown_s=2)
    if doc_threads is not None:
        settings.batch_doc_threads = doc_threads
    job = f"bench-{uuid.uuid4().hex[:6]}"
    async with WorkerGroup(build_workers(client, deps, queues=queues, settings=settings, warm_pool=True)):
        pool = shared_pool(pool_size(settings.batch_processes))
        if pool is not None:  # timed from a ready worker, as the no-op arm's is
            await pool.ready()
        batches = BatchClient(client, queues=queues, tuning=Tuning(retry_initial_s=0.2))
        t0 = time.perf_counter()
        handle, summary = await _start(batches, deps, spec, corpus, job)
        t1 = time.perf_counter()
        samples: list[dict[str, Any]] = []

        async def sample() -> None:
            async for p in handle.watch(interval_s=2.0):
                samples.append({"t": round(time.perf_counter() - t1, 1), "done": p.done, "phase": p.phase})

        # The clock stops at the result, not at the sampler's next poll (up to 2 s later).
        sampler = asyncio.ensure_future(sample())
        result = await handle.result()
        wall = time.perf_counter() - t1
        await sampler
        analysed_at = next((s["t"] for s in samples if s["phase"] != "analysing"), wall)
        pool_rss = _pool_peak_rss_mb()
    histories = await _histories(client, job)
    return {
        "job": job,
        "documents": summary.total,
        "done": result.done,
        "failed": result.failed,
        "manifest_s": round(t1 - t0, 2),
        "wall_s": round(wall, 2),
        "analysis_s": analysed_at,
        "docs_per_s": round(result.done / wall, 1),
        "status": result.status,
        "samples": samples[-50:],
        "batch_processes": len(pool_rss),
        "pool_peak_rss_mb": max(pool_rss, default=0.0),
        **histories,
    }


def _pool_peak_rss_mb() -> list[float]:
    """Peak RSS (VmHWM) of each of this process's document-pool processes (spawned children)."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes()
            status = (entry / "status").read_text()
        except (OSError, ValueError, IndexError):
            continue
        if parent == os.getpid() and b"spawn_main" in command:
            kib = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")), 0)
            out.append(round(kib / 1024, 1))
    return out


async def _histories(client: Client, job: str) -> dict[str, Any]:
    """The largest history of any run of the batch, and of the parent's and the reduce child's runs apiece.

    The parent's must not grow with the corpus (the reduce tree is a child that continues as new).
    """
    largest, biggest, runs = 0, 0, 0
    parent, reduce, reduce_runs = 0, 0, 0
    async for wf in client.list_workflows(f'WorkflowId STARTS_WITH "{job}"'):
        history = await client.get_workflow_handle(wf.id, run_id=wf.run_id).fetch_history()
        events = len(history.events)
        runs += 1
        largest = max(largest, events)
        biggest = max(biggest, sum(e.ByteSize() for e in history.events))
        if wf.id == job:
            parent = max(parent, events)
        elif "/reduce-" in wf.id:
            reduce, reduce_runs = max(reduce, events), reduce_runs + 1
    return {
        "workflows": runs,
        "largest_history_events": largest,
        "largest_history_bytes": biggest,
        "parent_history_events": parent,
        "reduce_history_events": reduce,
        "reduce_runs": reduce_runs,
    }


# --- ingest: the batch engine against the direct ingest path ---------------------------


def write_long_docs(folder: Path, docs: int, paragraphs: int) -> Path:
    """Documents of `paragraphs` distinct ~900-character paragraphs: about one chunk each."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(docs):
        body = "\n\n".join(
            " ".join(
                f"Paragraph {p} of document {i} describes {_TOPICS[(i + p + w) % len(_TOPICS)]} item {w}."
                for w in range(14)
            )
            for p in range(paragraphs)
        )
        (folder / f"long-{i:05d}.md").write_text(f"# Long {i}\n\n{body}\n")
    return folder


async def ingest_compare(client: Client, home: Path, corpus: Path, parallelism: int) -> dict[str, Any]:
    """Chunks/s of `retrieval.ingest` (one call, as the ingest activity runs it) and of the engine's ingest mode."""
    from retrieval import ingest

    deps = _deps(home, "local")
    started = time.perf_counter()
    report = await asyncio.to_thread(ingest, [str(corpus)], deps.memory("direct-corpus"), settings=deps.memory_settings)
    direct_s = time.perf_counter() - started
    queues = TaskQueues(
        workflows=f"wf-{uuid.uuid4().hex[:6]}", reasoning=f"rs-{uuid.uuid4().hex[:6]}", io=f"io-{uuid.uuid4().hex[:6]}"
    )
    spec = BatchSpec(
        task="ingest",
        collection="engine-corpus",
        parallelism=parallelism,
        micro_batch=25,  # the product default (BatchSpec), as a research job's engine ingest uses
        shard_size=max(50, report.files // (parallelism * 4)),
    )
    async with WorkerGroup(build_workers(client, deps, queues=queues, settings=WorkerSettings(graceful_shutdown_s=2))):
        batches = BatchClient(client, queues=queues, tuning=Tuning(retry_initial_s=0.2))
        started = time.perf_counter()
        handle, _ = await _start(batches, deps, spec, corpus, f"ingest-{uuid.uuid4().hex[:6]}")
        result = await handle.result()
        engine_s = time.perf_counter() - started
    return {
        "documents": report.files,
        "chunks_direct": report.chunks,
        "chunks_engine": result.chunks,
        "direct_s": round(direct_s, 1),
        "engine_s": round(engine_s, 1),
        "direct_chunks_per_s": round(report.chunks / direct_s, 1),
        "engine_chunks_per_s": round(result.chunks / engine_s, 1),
        "stored_direct": deps.memory("direct-corpus").count(),
        "stored_engine": deps.memory("engine-corpus").count(),
    }


# --- crash runs (worker subprocesses) ------------------------------------------------


def _worker(address: str, home: Path, prefix: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "DURABLE_"))} | {
        "TEMPORAL_ADDRESS": address,
        "DURABLE_RESEARCH_HOME": str(home),
        "DURABLE_RESEARCH_TASK_QUEUE_PREFIX": prefix,
        "DURABLE_RESEARCH_MEMORY_MODE": "local",
        "DURABLE_RESEARCH_MODEL_FAKE_CALL_LOG": str(home / "calls.jsonl"),
        "DURABLE_RESEARCH_WORKER_REASONING_CONCURRENCY": "16",
    }
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "durable-research"), "worker"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().startswith("worker ready")
    return proc


async def crash_run(server: EmbeddedServer, home: Path, corpus: Path, spec: BatchSpec, kill: str) -> dict[str, Any]:
    """Kill the worker or the server once half the documents are recorded; a fresh one goes on."""
    record = server.running()
    assert record is not None
    converter = data_converter(server.settings)  # type: ignore[attr-defined]
    client = await Client.connect(record.address, data_converter=converter)
    prefix, job = f"c{uuid.uuid4().hex[:4]}-", f"crash-{kill}-{uuid.uuid4().hex[:4]}"
    queues = OrchestrationSettings(task_queue_prefix=prefix).task_queues()
    worker = _worker(record.address, home, prefix)
    try:
        batches = BatchClient(client, queues=queues, tuning=Tuning(heartbeat_timeout_s=2.0, retry_initial_s=0.2))
        from reasoning import default_registry
        from retrieval import MemorySettings

        handle, summary = await start_batch(
            batches,
            spec,
            [str(corpus)],
            store=LocalArtifactStore(home / "artifacts"),
            memory=MemorySettings(mode="memory"),
            registry=default_registry,
            job_id=job,
        )
        docs = home / "artifacts" / "jobs" / job / "docs"
        t0 = time.perf_counter()
        while not docs.is_dir() or len(os.listdir(docs)) < summary.total // 2:
            await asyncio.sleep(0.05)
        at_kill = len(os.listdir(docs))
        if kill == "worker":
            worker.send_signal(signal.SIGKILL)
            worker.wait()
            worker = _worker(record.address, home, prefix)
        else:
            os.killpg(record.pid, signal.SIGKILL)
            os.waitpid(record.pid, 0)
            record = server.ensure_started()
            client = await Client.connect(record.address, data_converter=converter)
            handle = BatchClient(client, queues=queues).attach(job)
        result = await handle.result()
        wall = time.perf_counter() - t0
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=60)
    store = LocalArtifactStore(home / "artifacts")
    from reasoning.models import read_call_log

    calls = Counter(c["hash"] for c in read_call_log(home / "calls.jsonl") if c["task"] == "summarize")
    return {
        "kill": kill,
        "documents": summary.total,
        "status": result.status,
        "done": result.done,
        "recorded_at_kill": at_kill,
        "records": len(store.keys(f"jobs/{job}/docs")),
        "results": len(store.keys(f"jobs/{job}/results")),
        "analysed_twice": sum(n - 1 for n in calls.values()),
        "in_flight_bound": spec.parallelism * spec.window,
        "wall_s": round(wall, 1),
    }


async def run(
    docs: int,
    parallelism: int,
    micro_batch: int,
    folder: Path,
    crash: bool,
    memory: str,
    ingest_docs: int,
    repeat: int = 1,
) -> dict[str, Any]:
    corpus = write_docs(folder / "corpus", docs)
    spec = _spec(docs, parallelism, micro_batch)
    settings = OrchestrationSettings(
        home=folder / "server", temporal_port=_free_port(), ui_port=_free_port(), temporal_address=None
    )
    server = EmbeddedServer(settings)
    record = server.ensure_started()
    out: dict[str, Any] = {
        "docs": docs,
        "parallelism": parallelism,
        "micro_batch": micro_batch,
        "shard_size": spec.shard_size,
        "memory": memory,
        "load_before": os.getloadavg()[0],
    }
    try:
        client = await Client.connect(record.address, data_converter=data_converter(settings))
        shards = -(-docs // spec.shard_size)
        # Pairs of arms, one after the other: on a shared 2-core machine either arm alone moved
        # by a fifth from run to run (the no-op limit 118-211/s), so each arm's best of `repeat`
        # is compared, and every pair is kept. Each run has a server of its own (see the docstring);
        # this one serves the ingest and crash parts.
        pairs = []
        for i in range(repeat):
            async with private_server(folder / f"noop-{i}") as (fresh, _):
                limit = await noop_limit(fresh, docs, shards, parallelism, micro_batch * spec.window)
            async with private_server(folder / f"batch-{i}") as (fresh, _):
                batch = await batch_run(fresh, folder / f"home-{i}", corpus, spec, memory)
            pairs.append((limit, batch))
        out["noop_limit"] = max((limit for limit, _ in pairs), key=lambda r: r["per_s"])
        out["batch"] = max((batch for _, batch in pairs), key=lambda r: r["docs_per_s"])
        out["ratio"] = round(out["batch"]["docs_per_s"] / out["noop_limit"]["per_s"], 2)
        out["pairs"] = [
            {"noop_per_s": a["per_s"], "docs_per_s": b["docs_per_s"], "ratio": round(b["docs_per_s"] / a["per_s"], 2)}
            for a, b in pairs
        ]
        out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        if ingest_docs:
            long_corpus = write_long_docs(folder / "long", ingest_docs, 10)
            out["ingest"] = await ingest_compare(client, folder / "ingest", long_corpus, parallelism)
        if crash:
            server.settings = settings  # type: ignore[attr-defined]
            out["crash"] = [
                await crash_run(server, folder / f"crash-{k}", corpus, spec, k) for k in ("worker", "server")
            ]
    finally:
        server.stop()
    out["load_after"] = os.getloadavg()[0]
    return out


def readme_lines(r: dict[str, Any]) -> list[str]:
    """The lines the docs quote from a result (tests/experiments/test_batch_bench.py checks them)."""
    b = r["batch"]
    pool = (
        f" + {b['batch_processes']} pool processes of at most {b['pool_peak_rss_mb']} MB"
        if b.get("batch_processes")
        else ""
    )
    lines = [
        f"batch {r['docs']} docs: {b['wall_s']} s, {b['docs_per_s']} docs/s vs one no-op activity per document "
        f"{r['noop_limit']['per_s']}/s = {r['ratio']}x; largest history {b['largest_history_events']} events "
        f"({b['largest_history_bytes'] // 1024} KiB) over {b['workflows']} workflow runs; "
        f"peak RSS {r['peak_rss_mb']} MB{pool}"
    ]
    if len(r.get("pairs", [])) > 1:  # results recorded before the repeated pairs have one run of each arm
        lines.append(
            f"best of {len(r['pairs'])} runs of each arm; runs in pairs (no-op/s, docs/s, ratio): "
            + ", ".join(f"{p['noop_per_s']}/{p['docs_per_s']}/{p['ratio']}x" for p in r["pairs"])
        )
    if "parent_history_events" in b:  # results recorded before the reduce child lack these
        lines.append(
            f"histories: parent {b['parent_history_events']} events, reduce child at most "
            f"{b['reduce_history_events']} events per run over {b['reduce_runs']} runs"
        )
    if "ingest" in r:
        g = r["ingest"]
        lines.append(
            f"ingest {g['chunks_engine']} chunks ({g['documents']} documents): engine {g['engine_chunks_per_s']} "
            f"chunks/s vs direct ingest {g['direct_chunks_per_s']} chunks/s"
        )
    for c in r.get("crash", []):
        lines.append(
            f"crash ({c['kill']} SIGKILLed at {c['recorded_at_kill']} of {c['documents']}): {c['status']}, "
            f"{c['records']} records, {c['results']} results, analysed twice {c['analysed_twice']} "
            f"({c['in_flight_bound']} micro-batches in flight), {c['wall_s']} s"
        )
    return lines


app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


@app.command(help=__doc__.split("\n")[0])
def bench(
    profile: str = typer.Option("full", "--profile", help="quick: 300 documents, no crash runs; full: 10,000."),
    docs: int | None = typer.Option(None, "--docs", min=1),
    parallelism: int = typer.Option(4, "--parallelism", min=1),
    micro_batch: int = typer.Option(25, "--micro-batch", min=1),
    crash: bool | None = typer.Option(None, "--crash/--no-crash"),
    memory: str = typer.Option("local", "--memory", help="Where results are indexed: local (Chroma) or memory."),
    ingest_docs: int | None = typer.Option(None, "--ingest-docs", help="Documents of 10 chunks for the ingest run."),
    out: Path | None = typer.Option(None, "--out", help=f"JSON file (full profile default: {RESULTS_FILE})."),
    repeat: int | None = typer.Option(None, "--repeat", min=1, help="Runs of each arm (quick: 1, full: 3)."),
) -> None:
    quick = profile == "quick"
    n = docs or (300 if quick else 10_000)
    with tempfile.TemporaryDirectory() as tmp:
        ingest_n = ingest_docs if ingest_docs is not None else (30 if quick else 1000)
        crashes = crash if crash is not None else not quick
        result = asyncio.run(
            run(n, parallelism, micro_batch, Path(tmp), crashes, memory, ingest_n, repeat or (1 if quick else 3))
        )
    for line in readme_lines(result):
        print(line)
    target = out or (None if quick else RESULTS_FILE)
    if target:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    app()
