"""The process that runs one workload run for the local arms (A0, A1 sync/async, A1t).

The supervisor starts it ahead of time (imports paid, as a Temporal worker's are),
it prints ``READY``, then reads one JSON line, a :class:`LocalRunSpec`, from stdin,
runs the graph and writes a :class:`LocalRunResult` to ``spec.result_path``. The
controller SIGKILLs it at a logical point; the supervisor then hands the same spec
to a fresh process, which resumes from SQLite (A1) or starts over (A0).
"""

from __future__ import annotations

import sys
import time

from pydantic import BaseModel

from experiments.recovery.graph_exec import Durability, run_graph_once
from experiments.recovery.probes import probe
from experiments.recovery.workload import RunContext, answer_hash


class LocalRunSpec(BaseModel):
    """What one local attempt needs; the same for every attempt of a run."""

    context: dict[str, object]
    checkpoint_path: str | None
    durability: Durability = "sync"
    result_path: str


class LocalRunResult(BaseModel):
    """What a finished local run reports."""

    answer_hash: str
    resumed: bool
    loops: int
    memory_notes: int
    finished_at: float


def run(spec: LocalRunSpec) -> LocalRunResult:
    """Run or resume the spec's run in this process."""
    context: RunContext = spec.context  # type: ignore[assignment]
    probe(context["events"], "attempt_start", context["run"])
    out, resumed = run_graph_once(
        context,
        mode="resume",
        checkpoint_path=spec.checkpoint_path,
        thread_id=context["run"],
        durability=spec.durability,
    )
    return LocalRunResult(
        answer_hash=answer_hash(out["answer"]),
        resumed=resumed,
        loops=int(out.get("loops", 0)),
        memory_notes=int(out.get("memory_notes", 0)),
        finished_at=time.time(),
    )


def main() -> None:
    from experiments.recovery.workload import warm_up

    warm_up()  # exactly what a Temporal worker of the experiment does before it polls
    print("READY", flush=True)
    line = sys.stdin.readline()
    if not line.strip():
        return  # the supervisor closed a standby it no longer needs
    spec = LocalRunSpec.model_validate_json(line)
    result = run(spec)
    with open(spec.result_path, "w") as fh:
        fh.write(result.model_dump_json())


if __name__ == "__main__":
    main()
