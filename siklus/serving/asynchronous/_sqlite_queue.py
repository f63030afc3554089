"""The default queue backend: one SQLite file (WAL mode) under the workspace's ``.siklus/``.

It is its own file, not a table of the metadata store: the queue is written on every
request and claim, and keeping that traffic (and its locks) off the metadata database
keeps ``siklus`` commands responsive while an endpoint is busy. Claims run in
``BEGIN IMMEDIATE`` transactions, which take SQLite's write lock before reading, so two
processes can never select the same Queued row.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from siklus.exceptions import AlreadyExists, NotFound
from siklus.serving.asynchronous._queue import (
    DEFAULT_MAX_ATTEMPTS,
    InferenceMessage,
    InferenceQueue,
    InferenceStatus,
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL,
    body TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    owner TEXT,
    deadline REAL,
    reason TEXT,
    result TEXT NOT NULL DEFAULT '{}',
    priority INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_by_status ON messages (status, priority, seq);
"""

_Q = InferenceStatus.QUEUED.value
_P = InferenceStatus.IN_PROGRESS.value
_C = InferenceStatus.COMPLETED.value
_F = InferenceStatus.FAILED.value


class SqliteQueue(InferenceQueue):
    """:class:`InferenceQueue` in a SQLite file; see the module docstring.

    Args:
        path: The database file (created with its folder).
        max_attempts: Claims after which a message whose worker keeps dying is Failed.
    """

    def __init__(self, path: Path, *, max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.max_attempts = max_attempts
        self._lock = threading.Lock()
        self._db = sqlite3.connect(
            str(path), timeout=30.0, isolation_level=None, check_same_thread=False
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # durable across process crashes
        with self._lock:
            self._db.executescript(_SCHEMA)

    def _write(self, work: Any) -> Any:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                out = work(self._db)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
            return out

    def put(self, message_id: str, body: dict[str, Any]) -> InferenceMessage:
        now = time.time()

        def work(db: sqlite3.Connection) -> None:
            try:
                db.execute(
                    "INSERT INTO messages (id, status, body, created_at, updated_at) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (message_id, _Q, json.dumps(body), now, now),
                )
            except sqlite3.IntegrityError:
                raise AlreadyExists(f"Inference {message_id!r} was queued before.") from None

        self._write(work)
        return self.get(message_id)

    def claim(self, owner: str, *, visibility_timeout: float) -> InferenceMessage | None:
        def work(db: sqlite3.Connection) -> str | None:
            now = time.time()
            db.execute(
                "UPDATE messages SET status = ?, reason = ?, owner = NULL, deadline = NULL, "
                "updated_at = ? WHERE status = ? AND deadline < ? AND attempts >= ?",
                (_F, _gave_up(self.max_attempts), now, _P, now, self.max_attempts),
            )
            # A re-queued message goes ahead of newer ones (priority -1 sorts first).
            db.execute(
                "UPDATE messages SET status = ?, owner = NULL, deadline = NULL, priority = -1, "
                "updated_at = ? WHERE status = ? AND deadline < ?",
                (_Q, now, _P, now),
            )
            row = db.execute(
                "SELECT id FROM messages WHERE status = ? ORDER BY priority, seq LIMIT 1", (_Q,)
            ).fetchone()
            if row is None:
                return None
            db.execute(
                "UPDATE messages SET status = ?, owner = ?, deadline = ?, attempts = attempts + 1, "
                "updated_at = ? WHERE id = ?",
                (_P, owner, now + visibility_timeout, now, row[0]),
            )
            return str(row[0])

        message_id = self._write(work)
        return None if message_id is None else self.get(message_id)

    def _settle(self, message_id: str, owner: str, sets: str, values: tuple[Any, ...]) -> bool:
        def work(db: sqlite3.Connection) -> bool:
            cursor = db.execute(
                f"UPDATE messages SET {sets}, updated_at = ? "  # sets: fixed fragments
                "WHERE id = ? AND owner = ? AND status = ?",
                (*values, time.time(), message_id, owner, _P),
            )
            return cursor.rowcount == 1

        return bool(self._write(work))

    def extend(self, message_id: str, owner: str, *, visibility_timeout: float) -> bool:
        return self._settle(message_id, owner, "deadline = ?", (time.time() + visibility_timeout,))

    def complete(self, message_id: str, owner: str, result: dict[str, Any]) -> bool:
        return self._settle(
            message_id,
            owner,
            "status = ?, result = ?, owner = NULL, deadline = NULL",
            (_C, json.dumps(result)),
        )

    def fail(self, message_id: str, owner: str, reason: str) -> bool:
        return self._settle(
            message_id, owner, "status = ?, reason = ?, owner = NULL, deadline = NULL", (_F, reason)
        )

    def get(self, message_id: str) -> InferenceMessage:
        with self._lock:
            row = self._db.execute(
                "SELECT id, status, body, attempts, owner, reason, result, created_at, "
                "updated_at FROM messages WHERE id = ?",
                (message_id,),
            ).fetchone()
        if row is None:
            raise NotFound(f"No inference {message_id!r} in this endpoint's queue.")
        return InferenceMessage(
            id=row[0],
            status=InferenceStatus(row[1]),
            body=json.loads(row[2]),
            attempts=row[3],
            owner=row[4],
            reason=row[5],
            result=json.loads(row[6]),
            created_at=row[7],
            updated_at=row[8],
        )

    def counts(self) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute(
                "SELECT status, COUNT(*) FROM messages GROUP BY status"
            ).fetchall()
        return {status.value: 0 for status in InferenceStatus} | {s: n for s, n in rows}

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _gave_up(max_attempts: int) -> str:
    return (
        f"the worker processing it stopped before finishing {max_attempts} time(s) (it died, "
        "was killed or ran past the visibility timeout); see the endpoint's worker logs"
    )


__all__ = ["SqliteQueue"]
