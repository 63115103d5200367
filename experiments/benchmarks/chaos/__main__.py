"""Chaos benchmark command line.

`python -m experiments.benchmarks.chaos --kills N --seed S [--pauses N] [--jobs J] [--profile quick|full] [--out DIR]`
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from pathlib import Path
from typing import NoReturn

from experiments.benchmarks.chaos.config import for_profile
from experiments.benchmarks.chaos.runner import passed, run_chaos, summary_line

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "results"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one clear line, exit 2, before anything starts
        self.exit(2, f"error: {message} (see --help)\n")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m experiments.benchmarks.chaos", description=__doc__)
    p.add_argument("--profile", choices=["quick", "full"], default="quick")
    p.add_argument("--kills", type=_count, help="SIGKILLs of workers and the server (profile default)")
    p.add_argument("--pauses", type=_count, help="SIGSTOP/SIGCONT pauses past the heartbeat timeout")
    p.add_argument("--jobs", type=_positive, help="jobs running at once")
    p.add_argument("--workers", type=_positive, help="worker processes (2-3 make sense on 2 cores)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", type=Path, default=None, help=f"results folder (default {DEFAULT_OUT} for full)")
    p.add_argument("--work", type=Path, default=None, help="keep the state folder and logs here")
    return p


def _count(text: str) -> int:
    value = int(text) if text.lstrip("-").isdigit() else -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a count (0 or more)")
    return value


def _positive(text: str) -> int:
    value = _count(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    config = for_profile(args.profile, kills=args.kills, pauses=args.pauses, jobs=args.jobs, workers=args.workers,
                         seed=args.seed)  # fmt: skip
    if config.workers > 8:
        _parser().error("--workers must be 8 or fewer")
    out = args.out or (DEFAULT_OUT if args.profile == "full" else None)

    def progress(line: str) -> None:
        print(f"[chaos] {line}", file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="chaos-") as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        results = asyncio.run(run_chaos(config, work, progress))
    results["passed"] = passed(results)
    results["summary"] = summary_line(results)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        name = "chaos.json" if args.profile == "full" else f"chaos-{args.profile}.json"
        (out / name).write_text(json.dumps(results, indent=2) + "\n")
    print(results["summary"])
    return 0 if results["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
