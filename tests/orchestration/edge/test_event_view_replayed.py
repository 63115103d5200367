"""`watch` and the notebook show a replayed call as replayed, and the tally keeps it out of the spending."""

from __future__ import annotations

from orchestration.edge.event_view import event_line, tally_line, tally_record
from orchestration.shared.events import EventTally, JobEvent


def test_a_replayed_call_reads_as_replayed_and_is_not_counted_as_spent() -> None:
    paid = JobEvent(
        kind="model_call", activity_id="a", attempt=2, node="draft", tokens_in=30, tokens_out=12, seconds=0.5
    )
    replayed = JobEvent(
        kind="model_call", activity_id="a", attempt=2, node="read", tokens_in=40, tokens_out=10, replayed=True
    )
    tally = EventTally()
    assert tally.add(replayed) and tally.add(paid)

    assert "replayed from the call log (50 tokens not spent again)" in event_line(replayed)
    assert "replayed" not in event_line(paid)
    assert (tally.total("model_calls"), tally.total("tokens_in"), tally.total("replayed_calls")) == (1, 30, 1)
    assert tally_line(2, tally).endswith("1 calls replayed from the call log")
    assert tally_record(2, {"model_call": 2}, tally, "completed", 2)["replayed_calls"] == 1


def test_events_of_older_streams_decode_without_the_flag() -> None:
    old = JobEvent.model_validate({"kind": "model_call", "activity_id": "a", "attempt": 1, "tokens_in": 3})
    assert old.replayed is False
