"""Record the committed workflow histories that the replay tests guard.

Run `.venv/bin/python -m tests.histories.record` after an intended workflow change that
is versioned with `workflow.patched()`; never to paper over a non-determinism failure.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

from temporalio.client import Client

from orchestration.client import JobHandle, ResearchClient
from orchestration.converter import data_converter
from orchestration.server import EmbeddedServer
from tests.conftest import make_settings
from tests.orchestration.jobs import running_jobs, spec, wait_for_phase

HERE = Path(__file__).parent
WAIT = {"required": True, "deadline": "P3D"}


async def _approve_after_revise(jobs: ResearchClient) -> JobHandle:
    handle = await jobs.start(spec(approval=WAIT), job_id="history-revise-approve")
    await wait_for_phase(handle, "awaiting_approval")
    await handle.revise(notes="Add a section on retries.")
    await wait_for_phase(handle, "awaiting_approval")
    await handle.approve(by="recorder")
    return handle


async def _plain(jobs: ResearchClient) -> JobHandle:
    return await jobs.start(spec(), job_id="history-auto-approve")


async def _rejected(jobs: ResearchClient) -> JobHandle:
    handle = await jobs.start(spec(approval=WAIT), job_id="history-rejected")
    await wait_for_phase(handle, "awaiting_approval")
    await handle.reject(by="recorder")
    return handle


SCENARIOS: dict[str, Callable[[ResearchClient], Awaitable[JobHandle]]] = {
    "auto_approve": _plain,
    "revise_then_approve": _approve_after_revise,
    "rejected": _rejected,
}


async def record() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        server_settings = make_settings(Path(tmp) / "server")
        server = EmbeddedServer(server_settings)
        address = server.ensure_started().address
        try:
            client = await Client.connect(address, data_converter=data_converter(server_settings))
            for name, scenario in SCENARIOS.items():
                async with running_jobs(client, Path(tmp) / name) as jobs:
                    handle = await scenario(jobs)
                    await handle.handle.result()
                    history = await handle.handle.fetch_history()
                (HERE / f"{name}.json").write_text(history.to_json())
                print(f"recorded {name}: {len(history.events)} events")
        finally:
            server.stop()


if __name__ == "__main__":
    asyncio.run(record())
