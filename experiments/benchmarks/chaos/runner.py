"""One chaos run: start the cluster, run the references, fire the seeded faults while jobs run,
drain, check, and return the results as one JSON-ready dict."""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from experiments.benchmarks.chaos.audit import audit_home
from experiments.benchmarks.chaos.checks import (
    artifact_checks,
    memory_duplicates,
    notification_checks,
    report_checks,
)
from experiments.benchmarks.chaos.cluster import Cluster
from experiments.benchmarks.chaos.config import ChaosConfig
from experiments.benchmarks.chaos.jobs import JobOutcome, JobPump, connect_jobs, run_job
from experiments.benchmarks.chaos.schedule import PlannedFault, plan_faults

Progress = Callable[[str], None]


class _LoadSampler:
    """The 1-minute load average every few seconds: the machine is shared, numbers need it beside them."""

    def __init__(self) -> None:
        self.samples: list[float] = []

    async def run(self) -> None:
        while True:
            self.samples.append(os.getloadavg()[0])
            await asyncio.sleep(5)

    def summary(self) -> dict[str, float]:
        s = self.samples or [os.getloadavg()[0]]
        return {"mean": round(statistics.fmean(s), 2), "max": round(max(s), 2), "samples": len(s)}


async def run_chaos(config: ChaosConfig, work: Path, progress: Progress) -> dict[str, Any]:
    """Run the whole benchmark in `work`; returns the results (see `summary_line`)."""
    rng = random.Random(config.seed)
    plan = plan_faults(config, rng)
    cluster = Cluster(work, workers=config.workers, model_latency_s=config.model_latency_s,
                      prefix=f"chaos-{uuid.uuid4().hex[:6]}-")  # fmt: skip
    sampler = _LoadSampler()
    load_task = asyncio.create_task(sampler.run())
    wall = time.monotonic()
    try:
        cluster.start_chroma()
        first_start_s, _ = cluster.start_server()
        for _ in range(config.workers):
            cluster.spawn_worker()
        await cluster.wait_workers_ready()
        jobs = await connect_jobs(cluster.address, cluster.settings(), config)
        progress(f"cluster up: {cluster.address}, {config.workers} workers; {config.specs} reference jobs")
        references = await asyncio.gather(
            *(run_job(jobs, f"reference-{i}", i, config, reference=True) for i in range(config.specs))
        )
        progress(f"references done; chaos: {len(plan)} faults while {config.jobs} jobs run")
        pump = JobPump(jobs, config, tag=f"s{config.seed}")
        pump_task = asyncio.create_task(pump.run())
        fired = await _fire(plan, cluster, rng, progress)
        await pump.drain()
        pump_task.cancel()
        progress(f"faults done; {len(pump.outcomes)} chaos jobs finished")
        await asyncio.sleep(2)  # let the last notifications and index writes settle before counting
        results = _check(config, cluster, list(references), pump.outcomes, fired)
        results["first_server_start_s"] = round(first_start_s, 3)
    finally:
        load_task.cancel()
        await asyncio.to_thread(cluster.stop_all)
    results["wall_s"] = round(time.monotonic() - wall, 1)
    results["load_average"] = sampler.summary()
    return results


async def _fire(
    plan: list[PlannedFault], cluster: Cluster, rng: random.Random, progress: Progress
) -> list[dict[str, Any]]:
    """Fire the plan on time (a fault waits for the previous server restart to finish)."""
    start = time.monotonic()
    fired: list[dict[str, Any]] = []
    pauses: set[asyncio.Task[None]] = set()
    for n, fault in enumerate(plan, 1):
        await asyncio.sleep(max(0.0, start + fault.at_s - time.monotonic()))
        record: dict[str, Any] = {"n": n, "kind": fault.kind, "at_s": round(time.monotonic() - start, 2)}
        if fault.kind == "kill_server":
            pid, restart_s, refused = await asyncio.to_thread(cluster.kill_server)
            record |= {"pid": pid, "restart_s": round(restart_s, 3), "refused_starts": refused}
        else:
            slot = await _pick_worker(cluster, rng)
            record["pid"] = slot.child.pid
            if fault.kind == "kill_worker":
                cluster.kill_worker(slot)
            else:
                record["pause_s"] = fault.pause_s
                task = asyncio.create_task(cluster.pause_worker(slot, fault.pause_s))
                pauses.add(task)
                task.add_done_callback(pauses.discard)
        fired.append(record)
        if n % 10 == 0 or n == len(plan):
            progress(f"{n}/{len(plan)} faults fired")
    if pauses:
        await asyncio.wait(pauses)
    return fired


async def _pick_worker(cluster: Cluster, rng: random.Random) -> Any:
    """A running, unpaused, ready worker chosen by the seeded generator (waits for one if needed)."""
    while True:
        usable = cluster.usable_workers()
        if usable:
            return usable[rng.randrange(len(usable))]
        await asyncio.sleep(0.1)


def _check(
    config: ChaosConfig, cluster: Cluster, references: list[JobOutcome], chaos: list[JobOutcome],
    fired: list[dict[str, Any]],
) -> dict[str, Any]:  # fmt: skip
    ref_reports = {o.spec_index: o.report for o in references}
    results_all = [o.result for o in [*references, *chaos] if o.result is not None]
    artifacts = cluster.home / "artifacts"
    restarts = [f["restart_s"] for f in fired if f["kind"] == "kill_server"]
    kinds = Counter(f["kind"] for f in fired)
    return {
        "config": config.model_dump(mode="json"),
        "commit": _git_commit(),
        "faults": {
            "total": len(fired),
            "worker_kills": kinds["kill_worker"],
            "server_kills": kinds["kill_server"],
            "pauses": kinds["pause_worker"],
            "planned": config.faults,
        },
        "references": report_checks(ref_reports, references) | {"all_completed": all(r for r in ref_reports.values())},
        "jobs": report_checks(ref_reports, chaos),
        "memory": memory_duplicates(cluster.chroma_url, ["research", "research-reports"]),
        "artifacts": artifact_checks(artifacts, results_all),
        "notifications": notification_checks(artifacts, results_all),
        "checkpoints": audit_home(cluster.home),
        "server_restart_s": {
            "count": len(restarts),
            "max": round(max(restarts), 3) if restarts else None,
            "p50": round(statistics.median(restarts), 3) if restarts else None,
            "refused_starts": sum(f.get("refused_starts", 0) for f in fired),
        },
        "fault_log": fired,
        "job_log": [o.model_dump(mode="json", exclude={"report", "result"}) for o in [*references, *chaos]],
    }


def _git_commit() -> str | None:
    try:
        done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10,
                              cwd=Path(__file__).parent)  # fmt: skip
    except OSError:
        return None
    return done.stdout.strip() or None


def passed(results: dict[str, Any]) -> bool:
    """Every check of the benchmark holds."""
    jobs = results["jobs"]
    return (
        results["faults"]["total"] == results["faults"]["planned"]
        and jobs["completed"] == jobs["jobs"] > 0
        and jobs["identical_reports"] == jobs["jobs"]
        and results["references"]["completed"] == results["references"]["jobs"]
        and duplicates(results) == 0
        and results["checkpoints"]["forked_threads"] == 0
        and results["checkpoints"]["rerun_from_input"] == 0
        and (results["server_restart_s"]["max"] or 0) < 5.0
    )


def duplicates(results: dict[str, Any]) -> int:
    memory = sum(c["duplicates"] for c in results["memory"].values())
    return memory + results["artifacts"]["duplicates"] + results["notifications"]["duplicates"]


def summary_line(results: dict[str, Any]) -> str:
    """The one line the benchmark prints, and docs/benchmarks.md quotes verbatim."""
    f, j, c, r = results["faults"], results["jobs"], results["checkpoints"], results["server_restart_s"]
    memory = sum(m["duplicates"] for m in results["memory"].values())
    restart = f"max {r['max']:.2f} s, p50 {r['p50']:.2f} s" if r["count"] else "none"
    return (
        f"chaos seed {results['config']['seed']}: {f['total']} faults ({f['worker_kills']} worker kills, "
        f"{f['server_kills']} server kills, {f['pauses']} pauses); {j['completed']}/{j['jobs']} jobs completed, "
        f"{j['identical_reports']}/{j['jobs']} reports identical to a crash-free run; duplicates: {memory} memory, "
        f"{results['artifacts']['duplicates']} artifacts, {results['notifications']['duplicates']} notifications; "
        f"forked checkpoint chains {c['forked_threads']}, re-runs from input {c['rerun_from_input']}; "
        f"server restart {restart}; {results['wall_s'] / 60:.1f} min, "
        f"load average {results['load_average']['mean']:.1f}"
    )
