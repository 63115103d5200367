"""EventTally counts each activity's latest attempt only: a retry marker drops what the
superseded attempt reported, and a zombie's late batch is ignored."""

from __future__ import annotations

from orchestration.shared.events import EventTally, JobEvent


def _call(activity: str, attempt: int, tokens: int = 10) -> JobEvent:
    return JobEvent(kind="model_call", activity_id=activity, attempt=attempt, tokens_in=tokens, tokens_out=1)


def test_a_retry_replaces_the_superseded_attempts_counts() -> None:
    tally = EventTally()
    for e in [
        _call("a", 1), JobEvent(kind="node_finished", activity_id="a", attempt=1), _call("b", 1),
        JobEvent(kind="retry", activity_id="a", attempt=2), _call("a", 2), _call("a", 2),
    ]:  # fmt: skip
        assert tally.add(e)
    assert tally.retries == 1
    assert tally.total("model_calls") == 3 and tally.total("tokens_in") == 30
    assert tally.total("nodes") == 0, "attempt 1's node is redone by attempt 2"


def test_a_zombie_batch_after_the_retry_is_not_counted() -> None:
    tally = EventTally()
    tally.add(JobEvent(kind="retry", activity_id="a", attempt=2))
    tally.add(_call("a", 2))
    assert tally.add(_call("a", 1, tokens=999)) is False
    assert tally.ignored == 1 and tally.total("tokens_in") == 10


def test_workflow_events_are_not_activity_counts() -> None:
    tally = EventTally()
    assert tally.add(JobEvent(kind="subtask_started", activity_id="a", attempt=0))
    assert tally.add(JobEvent(kind="phase", phase="researching"))
    assert tally.activities == {} and tally.total("model_calls") == 0
