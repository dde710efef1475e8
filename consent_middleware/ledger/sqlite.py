"""The consent ledger in one SQLite file (standard library ``sqlite3``, WAL mode)."""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from ..core.exceptions import ConfigurationError
from .sql import LedgerUnavailable, SQLLedger

__all__ = ["SQLiteLedger", "holds_other_data"]

logger = logging.getLogger("consent_middleware")


class SQLiteLedger(SQLLedger):
    """A ledger in one SQLite file; safe for threads and for several processes on one
    machine.

    Every commit is synced to disk (``synchronous=FULL``), so a choice acknowledged after
    its write survives a crash or a power cut. The file is created readable by its owner
    only. A writer waits at most ``busy_timeout`` seconds for another process's lock.
    """

    _errors = (sqlite3.Error,)

    def __init__(self, path: str | Path, *, busy_timeout: float = 5.0) -> None:
        super().__init__()
        self.path = str(path)
        self.busy_timeout = busy_timeout
        self._gone = False
        try:
            # Made here, owner-only, so that SQLite never creates it world-readable.
            os.close(os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600))
            self._identity = _identity(self.path)
            self.history("")
        except (OSError, sqlite3.Error, LedgerUnavailable) as e:
            raise ConfigurationError(f"ledger file {self.path!r} cannot be opened: {e}") from e
        self.close()  # nothing open is handed to forked workers

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(
            self.path,
            timeout=self.busy_timeout,
            isolation_level=None,
            check_same_thread=False,
        )
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        return db

    def _check(self) -> None:
        try:
            identity = _identity(self.path)
        except OSError:
            if not self._gone:
                logger.error(
                    "consent ledger file %s was removed while in use: choices wait in the "
                    "spool until it is restored (or the server restarts with a new one)",
                    self.path,
                )
            self._gone = True
            raise LedgerUnavailable(f"{self!r}: the file was removed") from None
        if identity != self._identity:
            # Restored from a backup, or made anew by another process: use that file.
            logger.warning("consent ledger file %s was replaced; using the new file", self.path)
            self._identity = identity
            self._generation += 1  # connections to the old file, idle or busy, are dropped
            self._erasure_key = None
            self.close()
        self._gone = False

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


def _identity(path: str) -> tuple[int, int]:
    status = os.stat(path)
    return status.st_dev, status.st_ino


def holds_other_data(path: str) -> bool:
    """Whether the SQLite file at ``path`` is readable and holds no consent ledger (another
    application's database, or an empty file), looked at read-only."""
    try:
        uri = Path(path).resolve().as_uri() + "?mode=ro"
        db = sqlite3.connect(uri, uri=True)
        try:
            row = db.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'consent_events'"
            ).fetchone()
        finally:
            db.close()
    except (OSError, ValueError, sqlite3.Error):
        return False  # not a database at all: opening it says why
    return row is None
