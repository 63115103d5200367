"""A worker process for crash tests: all three queues, settings from the environment.

Run as `python -m tests.orchestration.worker_proc`; prints "ready" once polling starts.
"""

from __future__ import annotations

import asyncio

from orchestration.activities import WorkerDeps
from orchestration.client import connect
from orchestration.settings import OrchestrationSettings
from orchestration.worker import WorkerGroup, WorkerSettings, build_workers, serve_until_signalled


async def main() -> None:
    settings = OrchestrationSettings()
    client = await connect(settings)
    deps = WorkerDeps.from_env(settings.home.resolve())
    workers = build_workers(client, deps, queues=settings.task_queues(), settings=WorkerSettings())
    group = WorkerGroup(workers)
    loop = asyncio.get_running_loop()
    loop.call_later(0.2, lambda: print("ready", flush=True))
    await serve_until_signalled(group)


if __name__ == "__main__":
    asyncio.run(main())
