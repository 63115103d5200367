"""Child process for stall tests: takes a SQLite database's write lock, then stops itself.

Usage: python -m tests.reasoning._lock_holder DB
It opens a write transaction with a real checkpoint-writes row in it (what a worker
paused between LangGraph's INSERT and COMMIT holds), prints "holding", and SIGSTOPs
itself. After SIGCONT it rolls back and exits 0.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import sys


def main(db: str) -> None:
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute(
        "INSERT INTO writes (thread_id, checkpoint_ns, checkpoint_id, task_id, idx, channel) "
        "VALUES ('zombie', '', 'zombie', 'zombie', 0, 'zombie')"
    )
    print("holding", flush=True)
    os.kill(os.getpid(), signal.SIGSTOP)
    conn.execute("ROLLBACK")
    conn.close()


if __name__ == "__main__":
    main(sys.argv[1])
