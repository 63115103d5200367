"""The retry-latency benchmark runs against the session's dev server and backs the README's
claim: the server waits about 1 s before an activity retry, whatever a shorter interval says."""

from __future__ import annotations

from experiments.benchmarks.retry_latency import run
from orchestration.server import ServerRecord


async def test_retry_wait_and_heartbeat_kill_are_measured(temporal_server: ServerRecord) -> None:
    result = await run(temporal_server.address, intervals=[0.05], repeats=1, kills=1, heartbeat_s=2.0)
    # Load only makes these longer, so lower bounds cannot flake.
    assert result["retry_wait_s"][0.05] >= 0.9  # type: ignore[index]
    fired, running = result["timeout_fired_s"], result["attempt2_running_s"]
    assert 0 < fired < running  # type: ignore[operator]
    assert running >= 1.0  # type: ignore[operator]
