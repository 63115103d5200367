"""Checkpointers (and the call log) that refuse the writes of a superseded attempt, so a thread's chain stays linear.

After a heartbeat timeout the old attempt of an activity may still be alive (a paused
process, a partition) and keep writing checkpoints for the thread the new attempt now
runs; LangGraph's savers accept both writers and the chain forks (LangGraph #8796).

The rule, for SQLite and Postgres alike:

* an owner record per thread, ``thread_owner(thread_id, attempt)``, in the same database
  as the checkpoints;
* an attempt claims the thread before it reads the thread's state (`claim`); only an
  equal or higher attempt may take the record over, a lower one gets
  `SupersededAttemptError`;
* every checkpoint, blob and pending-write row is checked against the owner record by a
  trigger, i.e. inside the INSERT statement itself and so in the same transaction as the
  write, and a write by a lower attempt is refused (rolled back).

Why triggers instead of re-implementing `aput` / `aput_writes`: the check then lives in
the very statement LangGraph runs, with LangGraph's own SQL, locks and commits untouched
(we wrap the savers, we do not fork them). A Python check before LangGraph's INSERT would
leave a gap: AsyncSqliteSaver issues its INSERT and its COMMIT as two separate hops to
aiosqlite's thread, and a claim could land between a check and the write.

Why this is linear whatever the timing: on SQLite every write takes the database's single
write lock when its statement starts, so a claim (``BEGIN IMMEDIATE``) and a checked write
are serialised; a zombie stopped between its checked INSERT and its COMMIT still holds the
lock, so the new attempt's claim waits for that commit (up to the busy timeout) and then
reads a state that includes it. On Postgres the trigger reads the owner row ``FOR SHARE``,
which conflicts with the claim's UPDATE in the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

# The marker the triggers put in their error; how the savers and the call log recognise a refused write.
FENCE_MARK = "durable-research fence: superseded attempt"


def owner_in(message: str) -> int | None:
    """The owner attempt a Postgres trigger names in its refusal (`... 1 < owner 2`), if any."""
    owner = message.split("< owner", 1)[-1].split()[0] if "< owner" in message else ""
    return int(owner) if owner.isdigit() else None


class FencedWrites:
    """The write path both fenced savers share: LangGraph's own `aput` / `aput_writes`, SQL
    untouched, with a store error that is a fence refusal or a lock timeout turned into
    `SupersededAttemptError` / `CheckpointBusyError` (anything else passes through as itself).

    A saver lists the driver errors its store raises (`store_errors`) and says what each
    means (`translate`); the trigger has already refused the write inside its own statement.
    """

    attempt: int
    store_errors: tuple[type[Exception], ...] = ()

    async def aput(self, config: Any, checkpoint: Any, metadata: Any, new_versions: Any) -> Any:
        try:
            return await super().aput(config, checkpoint, metadata, new_versions)  # type: ignore[misc]
        except self.store_errors as exc:
            if (err := await self.translate(config, exc)) is exc:
                raise
            raise err from exc

    async def aput_writes(
        self, config: Any, writes: Sequence[tuple[str, Any]], task_id: str, task_path: str = ""
    ) -> None:
        try:
            await super().aput_writes(config, writes, task_id, task_path)  # type: ignore[misc]
        except self.store_errors as exc:
            if (err := await self.translate(config, exc)) is exc:
                raise
            raise err from exc

    async def translate(self, config: Any, exc: Exception) -> Exception:
        """`exc` as our typed error when it is a refusal or a lock timeout, else `exc` itself."""
        raise NotImplementedError
