"""The consent ledger: durable proof of every choice, in SQLite or PostgreSQL.

``open_ledger("sqlite:///path.db")`` or ``open_ledger("postgresql://...")`` returns a
:class:`Ledger`; writes are idempotent by event id, so replaying a batch never duplicates.
Each store keeps its schema version and applies newer migrations when opened.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable
from urllib.parse import unquote, urlsplit

from .events import ConsentEvent
from .exceptions import ConfigurationError, ConsentError

__all__ = ["Ledger", "LedgerUnavailable", "SQLiteLedger", "open_ledger"]

SCHEMA_VERSION = 1
COLUMNS = "event_id, consent_id, time, policy_version, granted, refused, method, kind, language"


class LedgerUnavailable(ConsentError):
    """The ledger's store cannot be reached or used right now."""


@runtime_checkable
class Ledger(Protocol):
    """Where consent events are kept. Every method may raise :class:`LedgerUnavailable`."""

    def write(self, events: Sequence[ConsentEvent]) -> int:
        """Store events not stored yet (by event id); the number newly stored."""
        ...

    def history(self, consent_id: str) -> list[ConsentEvent]:
        """One browser's events, oldest first."""
        ...

    def erase(self, consent_id: str, *, pseudonymise: bool = False) -> int:
        """Delete one browser's events, or cut them loose from it; the number affected."""
        ...

    def purge(self, before: float) -> int:
        """Delete events older than ``before`` (Unix seconds); the number deleted."""
        ...

    def events(self, since: float = 0.0) -> Iterator[ConsentEvent]:
        """Every event since ``since``, oldest first."""
        ...

    def close(self) -> None: ...


def row_to_event(row: Sequence[Any]) -> ConsentEvent:
    return ConsentEvent(
        row[0],
        row[1],
        float(row[2]),
        row[3],
        tuple(json.loads(row[4])),
        tuple(json.loads(row[5])),
        row[6],
        row[7],
        row[8],
    )


def event_to_row(event: ConsentEvent) -> tuple[Any, ...]:
    return (
        event.event_id,
        event.consent_id,
        event.time,
        event.policy_version,
        json.dumps(event.granted),
        json.dumps(event.refused),
        event.method,
        event.kind,
        event.language,
    )


#: Statements that bring a store from version ``n - 1`` to ``n``; ``{real}`` and ``{text}``
#: are the column types of the store's dialect.
MIGRATIONS: dict[int, list[str]] = {
    1: [
        "CREATE TABLE IF NOT EXISTS consent_events ("
        " event_id {text} PRIMARY KEY, consent_id {text} NOT NULL, time {real} NOT NULL,"
        " policy_version {text} NOT NULL, granted {text} NOT NULL, refused {text} NOT NULL,"
        " method {text} NOT NULL, kind {text} NOT NULL, language {text} NOT NULL)",
        "CREATE INDEX IF NOT EXISTS consent_events_by_browser ON consent_events (consent_id, time)",
        "CREATE INDEX IF NOT EXISTS consent_events_by_time ON consent_events (time)",
    ],
}


class SQLiteLedger:
    """A ledger in one SQLite file (WAL mode); safe for threads and for several processes."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._local = threading.local()
        # Every thread's connection, so that close() can close them all.
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        try:
            self._migrate()
        except sqlite3.Error as e:
            raise ConfigurationError(f"ledger file {self.path!r} cannot be opened: {e}") from e

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            # Each thread uses its own connection; close() may close them from any thread.
            connection = sqlite3.connect(
                self.path, timeout=30, isolation_level=None, check_same_thread=False
            )
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            self._local.connection = connection
            with self._connections_lock:
                self._connections.append(connection)
        return connection

    def _migrate(self) -> None:
        db = self._connection()
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute(
                "CREATE TABLE IF NOT EXISTS consent_ledger_meta (key TEXT PRIMARY KEY, value TEXT)"
            )
            row = db.execute(
                "SELECT value FROM consent_ledger_meta WHERE key = 'schema_version'"
            ).fetchone()
            current = int(row[0]) if row else 0
            for version in range(current + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[version]:
                    db.execute(statement.format(text="TEXT", real="REAL"))
            db.execute(
                "INSERT OR REPLACE INTO consent_ledger_meta VALUES ('schema_version', ?)",
                (str(max(current, SCHEMA_VERSION)),),
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def _run(self, work: Any) -> Any:
        try:
            return work(self._connection())
        except sqlite3.Error as e:
            raise LedgerUnavailable(f"ledger {self.path!r}: {e}") from e

    def write(self, events: Sequence[ConsentEvent]) -> int:
        def work(db: sqlite3.Connection) -> int:
            db.execute("BEGIN IMMEDIATE")
            try:
                before = db.total_changes
                db.executemany(
                    f"INSERT OR IGNORE INTO consent_events ({COLUMNS}) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [event_to_row(e) for e in events],
                )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            return db.total_changes - before

        return int(self._run(work)) if events else 0

    def history(self, consent_id: str) -> list[ConsentEvent]:
        def work(db: sqlite3.Connection) -> list[ConsentEvent]:
            rows = db.execute(
                f"SELECT {COLUMNS} FROM consent_events WHERE consent_id = ? ORDER BY time",
                (consent_id,),
            )
            return [row_to_event(row) for row in rows]

        return list(self._run(work))

    def erase(self, consent_id: str, *, pseudonymise: bool = False) -> int:
        def work(db: sqlite3.Connection) -> int:
            if pseudonymise:
                cursor = db.execute(
                    "UPDATE consent_events SET consent_id = 'erased-' || lower(hex(randomblob(8)))"
                    " WHERE consent_id = ?",
                    (consent_id,),
                )
            else:
                cursor = db.execute(
                    "DELETE FROM consent_events WHERE consent_id = ?", (consent_id,)
                )
            return cursor.rowcount

        return int(self._run(work))

    def purge(self, before: float) -> int:
        def work(db: sqlite3.Connection) -> int:
            return db.execute("DELETE FROM consent_events WHERE time < ?", (before,)).rowcount

        return int(self._run(work))

    def events(self, since: float = 0.0) -> Iterator[ConsentEvent]:
        def work(db: sqlite3.Connection) -> list[ConsentEvent]:
            rows = db.execute(
                f"SELECT {COLUMNS} FROM consent_events WHERE time >= ? ORDER BY time", (since,)
            )
            return [row_to_event(row) for row in rows]

        return iter(self._run(work))

    def count(self) -> int:
        """How many events the ledger holds."""
        return int(
            self._run(lambda db: db.execute("SELECT count(*) FROM consent_events").fetchone()[0])
        )

    def close(self) -> None:
        with self._connections_lock:
            connections, self._connections = self._connections, []
        for connection in connections:
            connection.close()
        self._local = threading.local()

    def __repr__(self) -> str:
        return f"<SQLiteLedger {self.path!r}>"


def open_ledger(target: str | Ledger) -> Ledger:
    """A ledger from a URL (``sqlite:///relative.db``, ``sqlite:////absolute.db``,
    ``postgresql://user:password@host/db``) or a ledger object, checked now."""
    if not isinstance(target, str):
        if not isinstance(target, Ledger):
            raise ConfigurationError(
                "ledger must be a URL such as 'sqlite:///consent.db' or an object with "
                "write, history, erase, purge, events and close methods"
            )
        return target
    parts = urlsplit(target)
    if parts.scheme == "sqlite":
        path = unquote(parts.path)[1:] if parts.path.startswith("/") else ""
        if not path or parts.netloc:
            raise ConfigurationError(
                f"ledger URL {target!r} has no file: use sqlite:///relative/path.db or "
                "sqlite:////absolute/path.db"
            )
        return SQLiteLedger(path)
    if parts.scheme in ("postgresql", "postgres"):
        from .ledger_postgres import PostgresLedger

        return PostgresLedger(target)
    raise ConfigurationError(
        f"ledger URL {target!r} is not supported: use sqlite:///path.db or postgresql://..."
    )
