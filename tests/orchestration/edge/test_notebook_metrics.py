"""A notebook's worker keeps the SDK's and the project's metrics in a MetricBuffer, without a port."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestration.edge.notebook import Notebook, watch_progress
from tests.support.jobs import spec


async def test_notebook_metrics_match_the_job_usage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Free ports: a server the developer already runs on 7233 must not fail the test.
    monkeypatch.setenv("DURABLE_RESEARCH_TEMPORAL_PORT", "0")
    monkeypatch.setenv("DURABLE_RESEARCH_UI_PORT", "0")
    nb = await Notebook.start(tmp_path / "nb", model="fake", memory_mode="memory")
    try:
        await nb.start_worker()
        handle = await nb.client.start(spec())
        last = await watch_progress(handle, interval_s=0.2)
        result = await handle.result()
        await nb.stop_worker()  # flushes the worker's last metric updates
        updates = nb.metric_updates()
    finally:
        await nb.close()

    assert last.phase == "completed" and last.usage == result.usage

    def total(name: str, **labels: str) -> float:
        return sum(
            u["value"] for u in updates if u["name"] == name and all(u["labels"].get(k) == v for k, v in labels.items())
        )

    assert total("durable_research_model_calls") == result.usage.model_calls > 0
    assert total("durable_research_tokens", direction="in") == result.usage.input_tokens
    assert total("durable_research_tokens", direction="out") == result.usage.output_tokens
    assert any(u["name"] == "temporal_activity_execution_latency" for u in updates)  # the SDK's own
    assert nb.metric_updates() == []  # drained
