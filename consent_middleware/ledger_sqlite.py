"""The consent ledger in one SQLite file (standard library ``sqlite3``, WAL mode)."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from .exceptions import ConfigurationError
from .ledger import SQLLedger

__all__ = ["SQLiteLedger"]


class SQLiteLedger(SQLLedger):
    """A ledger in one SQLite file; safe for threads and for several processes."""

    _errors = (sqlite3.Error,)

    def __init__(self, path: str | Path) -> None:
        super().__init__()
        self.path = str(path)
        try:
            self._connection()
        except sqlite3.Error as e:
            raise ConfigurationError(f"ledger file {self.path!r} cannot be opened: {e}") from e

    def _connect(self) -> sqlite3.Connection:
        # Each thread uses its own connection; close() may close them from any thread.
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        return db

    @contextlib.contextmanager
    def _transaction(self, db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
        # IMMEDIATE takes the write lock at once: no deadlock between two upgrading readers.
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def __repr__(self) -> str:
        return f"<SQLiteLedger {self.path!r}>"
