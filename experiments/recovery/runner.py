"""Drive an experiment: stub, hub, Temporal dev server, every arm, every kill; write results."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import tempfile
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from experiments.recovery import memory
from experiments.recovery.arms import (
    ArmEnv,
    LocalArm,
    Outcome,
    TemporalArm,
    make_arms,
)
from experiments.recovery.config import ARMS, ExperimentConfig
from experiments.recovery.errors import ExperimentConfigError, ExperimentRunError
from experiments.recovery.hub import EventHub, Trigger
from experiments.recovery.metrics import calls_of, clean_profile, run_metrics, without_unfinished
from experiments.recovery.plans import PAUSE_POINTS, CleanProfile, make_triggers, plan_rng
from experiments.recovery.procs import start_stub
from experiments.recovery.report import ExperimentResult, write_report

Progress = Callable[[str], None]


@contextlib.asynccontextmanager
async def _temporal(work: Path, needed: bool) -> AsyncIterator[tuple[str, Any]]:
    """A private embedded Temporal dev server (WAL SQLite, free ports) and a client."""
    if not needed:
        yield "", None
        return
    from temporalio.client import Client

    from orchestration.payloads.converter import data_converter
    from orchestration.server import EmbeddedServer
    from orchestration.settings import OrchestrationSettings

    settings = OrchestrationSettings.model_validate(
        {"home": work / "temporal", "temporal_address": None, "temporal_port": 0, "ui_port": 0}
    )
    server = EmbeddedServer(settings)
    record = server.ensure_started()
    try:
        client = await Client.connect(
            record.address, data_converter=data_converter(OrchestrationSettings(home=settings.home))
        )
        yield record.address, client
    finally:
        server.stop()


class _Session:
    """One experiment's shared pieces while it runs."""

    def __init__(self, config: ExperimentConfig, work: Path, hub: EventHub, port: int) -> None:
        self.config = config
        self.work = work
        self.hub = hub
        self.stub_url = f"http://127.0.0.1:{port}/v1"
        self.log = work / "stub-calls.jsonl"
        self.records: list[dict[str, Any]] = []
        self.reference_answer = ""

    def add(self, record: dict[str, Any]) -> None:
        """Keep a record, and append it to ``runs.partial.jsonl`` so a long run loses nothing."""
        self.records.append(record)
        out = Path(self.config.out)
        out.mkdir(parents=True, exist_ok=True)
        with (out / "runs.partial.jsonl").open("a") as fh:
            fh.write(json.dumps(record, sort_keys=True) + "\n")

    def context(self, arm: LocalArm | TemporalArm, run: str, run_dir: Path) -> dict[str, Any]:
        return {
            "arm": arm.name, "run": run, "stub_url": self.stub_url, "events": self.hub.address,
            "memory_dir": str(run_dir / "memory"), "ledger_path": str(run_dir / "ledger.sqlite"),
            "use_tasks": bool(getattr(arm, "use_tasks", False)),
        }  # fmt: skip

    async def one_run(
        self, arm: LocalArm | TemporalArm, label: str, triggers: list[Trigger]
    ) -> tuple[list[dict[str, Any]], Any, Any, int, dict[str, Any]]:
        run = f"{arm.name}-{label}-{uuid.uuid4().hex[:6]}"
        run_dir = self.work / "runs" / run
        run_dir.mkdir(parents=True)
        watch = self.hub.arm(run, triggers)
        started = time.time()
        try:
            outcome = await arm.run(self.context(arm, run, run_dir), run_dir)
        except ExperimentRunError as exc:  # one stuck run is a data point, not the end
            outcome = Outcome(False, started, time.time(), error=str(exc))
        finally:
            self.hub.disarm()
        # Calls cut short by a kill are logged when the stub's sleep ends.
        await asyncio.sleep(self.config.latency_ms * 1.5 / 1000 + 0.05)
        stored: dict[str, Any] = {}
        if watch.pauses and isinstance(arm, TemporalArm):
            await self._let_zombie_finish(run, watch.pauses[0])
            stored = await asyncio.to_thread(arm.zombie_audit, run, watch.pauses[0])
        ledger = memory.count_ledger(str(run_dir / "ledger.sqlite"))
        # Sizes are already measured; ~1 MB of Chroma per run adds up over a full profile.
        shutil.rmtree(run_dir, ignore_errors=True)
        return calls_of(self.log, run), watch, outcome, ledger, stored

    async def _let_zombie_finish(self, run: str, pause: dict[str, Any]) -> None:
        """Wait until a worker let go after a pause has done what it will do for `run`.

        Once going again it learns it was superseded from its next heartbeat (Temporal answers
        that the attempt is gone and the SDK cancels it) or from the product's fence; two
        heartbeat timeouts after SIGCONT cover both. Its calls still running then are waited
        for, since the stub logs a call when it ends.
        """
        cont = pause.get("cont_t") or time.time()
        await asyncio.sleep(max(0.0, cont + 2 * self.config.heartbeat_s - time.time()))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and await asyncio.to_thread(self._in_flight, run):
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.05)  # the log line of a call that just ended

    def _in_flight(self, run: str) -> bool:
        with urllib.request.urlopen(f"{self.stub_url}/inflight", timeout=5) as reply:
            return any(call.get("run") == run for call in json.load(reply)["inflight"])


async def _run_arm(session: _Session, arm: LocalArm | TemporalArm, env: ArmEnv, progress: Progress) -> None:
    cfg = session.config
    await arm.setup(env)
    try:
        cleans: list[CleanProfile] = []
        for i in range(cfg.clean_runs):
            calls, watch, outcome, ledger, _ = await session.one_run(arm, f"clean{i}", [])
            clean = clean_profile(calls, watch, outcome, ledger)
            if outcome.completed:
                session.reference_answer = session.reference_answer or clean.answer_hash
                cleans.append(clean)
            rec = run_metrics(calls, watch, outcome, clean, session.reference_answer, ledger)
            session.add({"arm": arm.name, "point": "none", "index": i, **rec})
        if not cleans:
            progress(f"{arm.name}: no clean run completed; its kill runs are skipped")
            return
        base = sorted(cleans, key=lambda c: c.wall_s)[len(cleans) // 2]
        progress(f"{arm.name}: clean run {base.wall_s:.2f}s, {base.calls} model calls")
        for point in cfg.points:
            if point in PAUSE_POINTS and not arm.can_pause:
                progress(f"{arm.name}: {point} skipped (a paused local child is never noticed by its supervisor)")
                continue
            for i in range(cfg.kills):
                triggers = make_triggers(point, plan_rng(cfg.seed, point, i), base, cfg.latency_ms / 1000)
                calls, watch, outcome, ledger, stored = await session.one_run(arm, f"{point}{i}", triggers)
                rec = run_metrics(calls, watch, outcome, base, session.reference_answer, ledger, stored)
                session.add({"arm": arm.name, "point": point, "index": i, "seed": cfg.seed, **rec})
            progress(f"{arm.name}: {point} x{cfg.kills} done")
    finally:
        await arm.teardown()


async def run_experiment(
    config: ExperimentConfig, progress: Progress | None = None, work: Path | None = None
) -> ExperimentResult:
    """Run every selected arm at every selected kill point and write JSONL, summary and plots."""
    say = progress or (lambda _msg: None)
    started = time.time()
    arms = [a for name, a in make_arms().items() if name in config.arms]
    with contextlib.ExitStack() as stack:
        if work is None:
            work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="recovery-")))
        work.mkdir(parents=True, exist_ok=True)
        hub = EventHub(pause_max_s=config.pause_max_s, log_path=work / "events.jsonl")
        stack.callback(hub.close)
        stub, port = start_stub(work, config.latency_ms, hub.address)
        stack.callback(stub.stop)
        hub.owned_pids.discard(stub.pid)  # never a kill target
        session = _Session(config, work, hub, port)
        needs_temporal = any(isinstance(a, TemporalArm) for a in arms)
        async with _temporal(work, needs_temporal) as (address, client):
            env = ArmEnv(work, hub, config, address, client, session.stub_url)
            for arm in arms:
                await _run_arm(session, arm, env, say)
    wall = time.time() - started
    return write_report(config, session.records, wall)


def records_from_jsonl(path: Path) -> list[dict[str, Any]]:
    """Read back a results file."""
    return [without_unfinished(json.loads(line)) for line in path.read_text().splitlines() if line.strip()]


# Settings that change what the numbers mean; merged parts must agree on all of them.
_MERGE_MUST_AGREE = (
    "points", "profile", "latency_ms", "heartbeat_s", "sticky_s", "retry_initial_s",
    "max_attempts", "workers", "run_timeout_s", "pause_max_s",
)  # fmt: skip


_MERGED = "merged from"
_PARTS = ". Parts: "


def _part_notes(note: str) -> list[str]:
    """The notes of the batches behind a part (what a batch says about itself survives merges)."""
    if note.startswith(_MERGED):
        return [n for n in note.partition(_PARTS)[2].split(" | ") if n]
    return [note] if note else []


def merge_results(sources: list[Path], out: Path) -> ExperimentResult:
    """Combine experiments run side by side (arms split across processes) or one after another
    (more seeds) into one report.

    Each source folder holds the ``runs.jsonl`` and ``summary.json`` of :func:`run_experiment`
    or of an earlier merge, so batches can be added as they finish. Every setting that changes
    what the numbers mean must agree; arms, seeds and kill counts may differ. ``out`` may be
    one of the sources (everything is read before anything is written). A batch's own note
    (e.g. which code path made it) is kept in the merged note.
    """
    if not sources:
        raise ExperimentConfigError("merge needs at least one source folder.")
    records: list[dict[str, Any]] = []
    parts: list[ExperimentConfig] = []
    wall, harness_runs = 0.0, 0
    for source in sources:
        if not (source / "summary.json").is_file() or not (source / "runs.jsonl").is_file():
            raise ExperimentConfigError(f"{source} has no summary.json and runs.jsonl of a finished experiment.")
        meta = json.loads((source / "summary.json").read_text())
        part = ExperimentConfig.model_validate(meta["config"])
        for name in _MERGE_MUST_AGREE:
            if parts and getattr(part, name) != getattr(parts[0], name):
                raise ExperimentConfigError(
                    f"Cannot merge {source} with {sources[0]}: {name} is {getattr(part, name)!r} "
                    f"there and {getattr(parts[0], name)!r} here."
                )
        parts.append(part)
        wall += float(meta["wall_s"])
        harness_runs += int(meta.get("harness_runs", 1))
        # A record keeps the seed it was run with; older files without one take their part's.
        records += [{"seed": part.seed} | r for r in records_from_jsonl(source / "runs.jsonl")]
    arms = [a for a in ARMS if any(a in p.arms for p in parts)]
    seeds = sorted({int(r["seed"]) for r in records})
    counts = Counter((r["arm"], r["point"]) for r in records if r["point"] != "none")
    kills = min(counts.values()) if counts else 0  # the fewest kills of any arm and point
    note = (
        f"{_MERGED} {harness_runs} runs of the harness (seeds {seeds}; batches run side by side "
        f"or one after another); wall_s is their sum"
    )
    kept = list(dict.fromkeys(n for part in parts for n in _part_notes(part.note)))
    if kept:
        note += f"{_PARTS}{' | '.join(kept)}"
    merged = parts[0].model_copy(
        update={"arms": arms, "out": out, "kills": kills, "seed": seeds[0] if seeds else parts[0].seed, "note": note}
    )
    return write_report(merged, records, wall, harness_runs=harness_runs)  # type: ignore[no-any-return]
