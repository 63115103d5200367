"""The usage ledger: an attempt's calls survive it, the next attempt reports them once, a failure carries them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from temporalio.exceptions import ApplicationError

from orchestration.activities.usage_ledger import UsageLedger
from orchestration.shared.usage import CallCounts, Usage, usage_of_failure
from orchestration.telemetry.prices import Price, PriceTable

PRICES = PriceTable(prices={"openai:m": Price(input_per_million=1.0, output_per_million=2.0)})


def price(counts: CallCounts) -> Usage:
    return PRICES.usage("openai", "m", counts)


def counts(calls: int, tokens_in: int, tokens_out: int) -> CallCounts:
    return CallCounts(calls=calls, tokens_in=tokens_in, tokens_out=tokens_out)


def test_a_killed_attempts_calls_are_reported_by_the_next_attempt_once(tmp_path: Path) -> None:
    folder = tmp_path / "ledger" / "job" / "run" / "subtask" / "s1" / "r1"
    # Attempt 1 runs in a real process that is SIGKILLed after two calls (a worker dying mid-graph).
    script = textwrap.dedent(
        f"""
        import os, signal
        from pathlib import Path
        from orchestration.activities.usage_ledger import UsageLedger
        ledger = UsageLedger(Path({str(folder)!r}), attempt=1)
        ledger.record(100, 10)
        ledger.observer().on_model_call("draft", 200, 20)
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], cwd=Path(__file__).parents[3], check=False)
    assert proc.returncode == -signal.SIGKILL
    # A torn last line (killed mid-write) and a line written twice count neither more nor less.
    with open(folder / "attempt-001.jsonl", "a", encoding="utf-8") as fh:
        fh.write('{"seq": 2, "in": 200, "out": 20}\n{"seq": 3, "in": 5')

    with UsageLedger(folder, attempt=2) as second:
        second.record(300, 30)
        own = price(counts(1, 300, 30))
        usage = second.with_earlier(own, price)

    lost = price(counts(2, 300, 30))
    assert (usage.model_calls, usage.input_tokens, usage.output_tokens) == (3, 600, 60)
    assert usage.cost_usd == round(own.cost_usd + lost.cost_usd, 8) > 0
    assert (usage.lost_attempts, usage.lost_model_calls, usage.lost_tokens) == (1, 2, 330)
    assert usage.lost_cost_usd == lost.cost_usd
    assert "of which 2 calls, 330 tokens" in usage.line()
    # A first attempt has nothing earlier: its usage is its own.
    assert UsageLedger(folder, attempt=1).with_earlier(own, price) == own


def test_a_final_failure_carries_every_attempts_usage(tmp_path: Path) -> None:
    for attempt in (1, 2):
        with UsageLedger(tmp_path, attempt=attempt) as ledger:
            ledger.record(10, 1)
    last = UsageLedger(tmp_path, attempt=3)
    last.record(10, 1)
    error = last.failure(ApplicationError("boom", "kept", type="RuntimeError", non_retryable=True), price)
    last.close()

    assert (error.message, error.type, error.non_retryable) == ("boom", "RuntimeError", True)
    assert error.details[1:] == ("kept",)
    # What the workflow sees: ActivityError -> ApplicationError; details as decoded JSON.
    wrapped = RuntimeError("activity failed")
    wrapped.__cause__ = error
    usage = usage_of_failure(wrapped)
    assert usage is not None
    assert (usage.model_calls, usage.tokens, usage.lost_attempts, usage.lost_model_calls) == (3, 33, 3, 3)
    assert usage_of_failure(RuntimeError("no details")) is None
    # An attempt without calls adds nothing and leaves the error as it was.
    plain = ApplicationError("quiet")
    assert UsageLedger(tmp_path / "empty", attempt=1).failure(plain, price) is plain


def test_an_unwritable_ledger_never_fails_the_run(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    ledger = UsageLedger(blocked / "ledger", attempt=1)
    ledger.record(1, 1)  # logs a warning, raises nothing
    ledger.record(1, 1)
    assert UsageLedger(blocked / "ledger", attempt=2).earlier().counts.calls == 0
    assert UsageLedger(None, attempt=2).with_earlier(Usage(model_calls=1), price) == Usage(model_calls=1)
    assert not os.path.exists(blocked / "ledger")


def test_settled_units_are_left_to_the_artifacts_that_carry_them(tmp_path: Path) -> None:
    """A batch micro-batch: documents whose result holds their usage are settled; the one in flight is not."""
    with UsageLedger(tmp_path, attempt=1) as first:  # killed while analysing doc-3
        for unit, calls in (("doc-1", 2), ("doc-2", 1), ("doc-3", 2)):
            first.begin(unit)
            for _ in range(calls):
                first.record(10, 1)
            if unit == "doc-1":
                first.settle(unit)  # its result was written, then the ledger said so
            # doc-2: result written, killed before settling; doc-3: in flight, no result
    with UsageLedger(tmp_path, attempt=2) as second:
        second.settle("doc-2")  # this attempt read doc-2's result back and counts its usage from it
        second.begin("doc-3")
        second.record(10, 1)
        second.record(10, 1)
        second.settle("doc-3")
        earlier = second.earlier()
    # Only doc-3's two calls by the killed attempt are in no artifact: the ledger adds those, once.
    assert (earlier.attempts, earlier.counts.calls, earlier.counts.tokens_in) == (1, 2, 20)
    assert UsageLedger(tmp_path, attempt=2).through_this().counts.calls == 2


def test_writers_of_one_attempt_keep_their_own_sequence_numbers(tmp_path: Path) -> None:
    """A worker's document pool: the activity and each pool process append to the attempt's file."""
    folder = tmp_path / "ledger"
    writers = [
        UsageLedger(folder, attempt=1),
        UsageLedger(folder, 1, writer="p11"),
        UsageLedger(folder, 1, writer="p12"),
    ]
    for n, ledger in enumerate(writers, start=1):
        ledger.record(10 * n, n)  # each writer's first call: seq 1 in all three
        ledger.close()
    with UsageLedger(folder, attempt=2) as second:
        usage = second.with_earlier(Usage(), price)
    assert (usage.model_calls, usage.input_tokens, usage.output_tokens) == (3, 60, 6)
