"""Workers sharing a state folder open a new collection's lexical index together: none may fail.

Each process keeps one connection per index file and switches a new file to WAL. SQLite answers a
connection asking for WAL while another is turning the same new file to WAL with "database is
locked" at once, busy timeout or not. Threads with a connection each race exactly as processes do.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from retrieval.lexical import _to_wal

TRIALS = 100
OPENERS = 6


def test_connections_turning_one_new_index_file_to_wal_together_all_succeed(tmp_path: Path) -> None:
    failures: list[str] = []
    for trial in range(TRIALS):
        path = tmp_path / f"{trial}.sqlite3"
        start = threading.Barrier(OPENERS)

        def open_it(path: Path = path, start: threading.Barrier = start) -> None:
            conn = sqlite3.connect(path, timeout=30.0)
            try:
                start.wait()
                _to_wal(conn)
                assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
            except Exception as exc:
                failures.append(f"{path.name}: {type(exc).__name__}: {exc}")
            finally:
                conn.close()

        threads = [threading.Thread(target=open_it) for _ in range(OPENERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert failures == []
