"""A retried run gets every finished call back from the log, in both recovery modes: only the call
in flight when the attempt died is made again, in a multi-call node and in a parallel fan-out."""

from __future__ import annotations

from pathlib import Path

import pytest

from reasoning import FakeChatModel
from tests.reasoning.call_log.helpers import Crash, FailingFake, paid, probe
from tests.reasoning.call_log.probe_graph import CALLS, GATHER_CALLS


@pytest.mark.parametrize("mode", ["restart", "resume"])
@pytest.mark.parametrize(
    "fail_at",
    [GATHER_CALLS, GATHER_CALLS + 3, CALLS],  # inside the multi-call node, inside the fan-out, the last call
    ids=["multi-call-node", "fan-out", "last-call"],
)
def test_a_retry_pays_only_for_the_call_in_flight(tmp_path: Path, mode: str, fail_at: int) -> None:
    clean = probe(FakeChatModel(call_log=tmp_path / "clean.jsonl"), tmp_path / "clean", attempt=1, mode=mode)
    log = tmp_path / "calls.jsonl"
    with pytest.raises(Crash):
        probe(FailingFake(call_log=log, fail_at=fail_at), tmp_path, attempt=1, mode=mode)
    finished = sum(paid(log).values())

    retry = probe(FakeChatModel(call_log=log), tmp_path, attempt=2, mode=mode)

    assert retry.output == clean.output
    counts = paid(log)
    assert max(counts.values()) == 1, "a finished call was paid twice"
    assert sum(counts.values()) == CALLS
    # The retry asked the provider only for what the first attempt had not finished ...
    assert retry.model_calls == CALLS - finished
    if mode == "restart":  # ... and got the rest back from the log (resume skips finished nodes instead)
        assert retry.replayed_calls == finished
        assert retry.replayed_input_tokens > 0


def test_a_finished_run_is_replayed_whole_without_a_call(tmp_path: Path) -> None:
    log = tmp_path / "calls.jsonl"
    first = probe(FakeChatModel(call_log=log), tmp_path, attempt=1)
    again = probe(FakeChatModel(call_log=log), tmp_path, attempt=2)

    assert again.output == first.output
    assert (again.model_calls, again.tokens, again.replayed_calls) == (0, 0, CALLS)
    assert sum(paid(log).values()) == CALLS


def test_a_second_crash_during_recovery_loses_only_its_own_call(tmp_path: Path) -> None:
    log = tmp_path / "calls.jsonl"
    with pytest.raises(Crash):
        probe(FailingFake(call_log=log, fail_at=2), tmp_path, attempt=1, mode="resume")
    with pytest.raises(Crash):  # the retry replays one call, then dies in its fourth new one
        probe(FailingFake(call_log=log, fail_at=4), tmp_path, attempt=2, mode="resume")
    probe(FakeChatModel(call_log=log), tmp_path, attempt=3, mode="resume")

    counts = paid(log)
    assert (max(counts.values()), sum(counts.values())) == (1, CALLS)


def test_without_the_log_a_restart_pays_again(tmp_path: Path) -> None:
    """The control: the same crash with the call log switched off repeats every finished call."""
    log = tmp_path / "calls.jsonl"
    with pytest.raises(Crash):
        probe(FailingFake(call_log=log, fail_at=GATHER_CALLS + 3), tmp_path, attempt=1, call_log=False)
    probe(FakeChatModel(call_log=log), tmp_path, attempt=2, call_log=False)

    assert sum(n - 1 for n in paid(log).values()) >= GATHER_CALLS
