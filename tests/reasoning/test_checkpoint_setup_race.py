"""A job's subtasks open their job's new checkpoint database together: none may fail setting it up.

Setup switches a new SQLite file to WAL, and SQLite answers a second connection doing the same at
the same moment with "database is locked" at once, busy timeout or not. Seen in CI as a resume-mode
subtask's first attempt failing before its graph started.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from reasoning.checkpoints import CheckpointConfig, open_saver

TRIALS = 60
SUBTASKS = 6


async def _open(config: CheckpointConfig, thread_id: str, attempt: int | None) -> int | None:
    async with open_saver(config, thread_id, attempt) as saver:
        return await saver.owner(thread_id) if attempt is not None else None


async def test_subtasks_opening_a_new_job_database_together_all_succeed(tmp_path: Path) -> None:
    for trial in range(TRIALS):
        config = CheckpointConfig(sqlite_dir=tmp_path / str(trial), busy_timeout_s=30)
        # Fenced (a worker's attempts) and unfenced (a notebook's run) openers race alike.
        owners = await asyncio.gather(*(_open(config, f"job/s{i}", None if i % 3 == 2 else 1) for i in range(SUBTASKS)))
        assert owners == [None if i % 3 == 2 else 1 for i in range(SUBTASKS)], trial
        assert [p.name for p in (tmp_path / str(trial)).glob("*.sqlite")] == ["job.sqlite"]
