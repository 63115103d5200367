"""An activity's event batches get rarer as it ages, so an hours-long graph adds a bounded
number of signals (and so of history events) to its job, while short ones stay live."""

from __future__ import annotations

from orchestration.activities.event_publisher import MAX_INTERVAL_S, MIN_INTERVAL_S, flush_interval


def _signals(seconds: float) -> int:
    """Batches an activity that has events all the time sends in `seconds`."""
    t, n = 0.0, 0
    while t < seconds:
        t += flush_interval(t)
        n += 1
    return n


def test_short_activities_are_live_and_long_ones_are_bounded() -> None:
    assert flush_interval(0) == flush_interval(9) == MIN_INTERVAL_S == 1.0
    assert flush_interval(60) == 6.0 and flush_interval(3600) == MAX_INTERVAL_S
    assert _signals(10) == 10, "the first seconds: a batch a second"
    assert _signals(3600) < 200, "an hour: a few hundred history events at most, not thousands"
    assert _signals(24 * 3600) < _signals(3600) + 24 * 3600 / MAX_INTERVAL_S
