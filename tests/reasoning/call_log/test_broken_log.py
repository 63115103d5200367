"""A log that cannot be used never fails the run: an entry that does not decode reads as absent, a
locked, missing or unwritable log makes the calls run normally and says so once in the log."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest

from reasoning import FakeChatModel
from tests.reasoning.call_log.helpers import paid, probe
from tests.reasoning.call_log.probe_graph import CALLS


def _db(folder: Path) -> Path:
    return folder / "checkpoints" / "job.sqlite"


@pytest.mark.parametrize(
    "damage",
    ["UPDATE call_log SET payload = substr(payload, 1, 40)", "UPDATE call_log SET format = 99",
     "UPDATE call_log SET payload = X'00ff'"],
    ids=["truncated", "other-version", "not-json"],
)  # fmt: skip
def test_an_entry_that_does_not_decode_is_absent_and_replaced(tmp_path: Path, damage: str) -> None:
    log = tmp_path / "calls.jsonl"
    first = probe(FakeChatModel(call_log=log), tmp_path, attempt=1)
    with sqlite3.connect(_db(tmp_path)) as conn:
        conn.execute(damage)

    second = probe(FakeChatModel(call_log=log), tmp_path, attempt=2)
    third = probe(FakeChatModel(call_log=log), tmp_path, attempt=3)

    assert second.output == first.output and (second.model_calls, second.replayed_calls) == (CALLS, 0)
    assert (third.model_calls, third.replayed_calls) == (0, CALLS)  # the bad entries were written anew


def test_a_locked_log_lets_the_calls_run_and_says_so_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    log = tmp_path / "calls.jsonl"
    probe(FakeChatModel(call_log=log), tmp_path, attempt=1)
    holder = sqlite3.connect(_db(tmp_path), isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process stuck inside a write (a paused worker)
    try:
        with caplog.at_level(logging.WARNING, logger="reasoning.call_log"):
            run = probe(FakeChatModel(call_log=log), tmp_path, attempt=2, busy_timeout_s=0.3)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert run.model_calls == CALLS  # unlogged: the claim could not take the lock, the calls ran
    warnings = [r for r in caplog.records if "call log" in r.getMessage()]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]


def test_a_log_that_cannot_be_created_lets_the_calls_run(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "checkpoints").write_text("a file where the folder should be")
    with caplog.at_level(logging.WARNING, logger="reasoning.call_log"):
        run = probe(FakeChatModel(call_log=tmp_path / "calls.jsonl"), tmp_path, attempt=1)
    assert run.model_calls == CALLS
    assert any("not opened" in r.getMessage() for r in caplog.records)


def test_a_log_that_breaks_mid_run_is_left_for_the_rest_of_it(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    log = tmp_path / "calls.jsonl"

    class DropsTheTable(FakeChatModel):
        def _generate(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            with sqlite3.connect(_db(tmp_path)) as conn:  # the log goes away under the run
                conn.execute("DROP TABLE IF EXISTS call_log")
            return super()._generate(*args, **kwargs)

    with caplog.at_level(logging.WARNING, logger="reasoning.call_log"):
        run = probe(DropsTheTable(call_log=log), tmp_path, attempt=1)
    assert (run.model_calls, sum(paid(log).values())) == (CALLS, CALLS)
    assert len([r for r in caplog.records if "write failed" in r.getMessage()]) == 1
