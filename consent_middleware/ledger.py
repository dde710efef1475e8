"""The consent ledger: durable proof of every choice.

:class:`Ledger` is what the middleware needs of a store; :class:`SQLLedger` is the SQL that
the SQLite and PostgreSQL stores share. Writes are idempotent by event id, so replaying a
batch never duplicates. Each store keeps its schema version and applies newer migrations
when it is first used.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol, TypeVar, runtime_checkable

from .events import ConsentEvent
from .exceptions import ConsentError

__all__ = ["Ledger", "LedgerUnavailable", "SQLLedger"]

SCHEMA_VERSION = 1
COLUMNS = "event_id, consent_id, time, policy_version, granted, refused, method, kind, language"
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

T = TypeVar("T")


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


def _row_to_event(row: Sequence[Any]) -> ConsentEvent:
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
    """An event as the values of one ``consent_events`` row."""
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


class SQLLedger:
    """The ledger in SQL: one connection per thread, the statements both dialects share.

    A subclass connects (:meth:`_connect`), opens a transaction (:meth:`_transaction`),
    turns the driver's errors into :class:`LedgerUnavailable` (:attr:`_errors`) and names
    its dialect's details.
    """

    #: How the driver marks a parameter.
    placeholder = "?"
    #: The column types, for the migrations.
    real_type = "REAL"
    #: An insert that skips an event id already stored.
    insert = f"INSERT OR IGNORE INTO consent_events ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    #: A random id for an erased browser's events kept for statistics.
    erased_id = "'erased-' || lower(hex(randomblob(8)))"
    _errors: tuple[type[Exception], ...] = ()

    def __init__(self) -> None:
        self._local = threading.local()
        # Every thread's connection, so that close() can close them all.
        self._connections: list[Any] = []
        self._lock = threading.Lock()
        self._migrated = False

    def _connect(self) -> Any:
        raise NotImplementedError

    def _transaction(self, db: Any) -> contextlib.AbstractContextManager[Any]:
        raise NotImplementedError

    def _usable(self, db: Any) -> bool:
        return True

    def _connection(self) -> Any:
        db = getattr(self._local, "connection", None)
        if db is None or not self._usable(db):
            db = self._local.connection = self._connect()
            with self._lock:
                self._connections.append(db)
        if not self._migrated:
            with self._lock:
                if not self._migrated:
                    self._migrate(db)
                    self._migrated = True
        return db

    def _migrate(self, db: Any) -> None:
        with self._transaction(db):
            self._lock_migrations(db)
            db.execute(
                "CREATE TABLE IF NOT EXISTS consent_ledger_meta (key TEXT PRIMARY KEY, value TEXT)"
            )
            row = db.execute(
                "SELECT value FROM consent_ledger_meta WHERE key = 'schema_version'"
            ).fetchone()
            current = int(row[0]) if row else 0
            for version in range(current + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[version]:
                    db.execute(statement.format(text="TEXT", real=self.real_type))
            db.execute(
                self._sql(
                    "INSERT INTO consent_ledger_meta VALUES ('schema_version', ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
                ),
                (str(max(current, SCHEMA_VERSION)),),
            )

    def _lock_migrations(self, db: Any) -> None:
        """Keep other processes from migrating at the same time (inside the transaction)."""

    def _sql(self, statement: str) -> str:
        return statement.replace("?", self.placeholder)

    def _run(self, work: Callable[[Any], T]) -> T:
        try:
            return work(self._connection())
        except self._errors as e:
            db = getattr(self._local, "connection", None)
            if db is not None and not self._usable(db):
                self._local.connection = None
            raise LedgerUnavailable(f"{self!r}: {e}") from e

    def write(self, events: Sequence[ConsentEvent]) -> int:
        if not events:
            return 0

        def work(db: Any) -> int:
            with self._transaction(db):
                cursor = db.cursor()
                cursor.executemany(self._sql(self.insert), [event_to_row(e) for e in events])
                return int(cursor.rowcount)

        return self._run(work)

    def _rows(self, statement: str, *parameters: object) -> list[ConsentEvent]:
        def work(db: Any) -> list[ConsentEvent]:
            rows = db.execute(self._sql(statement), parameters).fetchall()
            return [_row_to_event(row) for row in rows]

        return self._run(work)

    def _change(self, statement: str, *parameters: object) -> int:
        return self._run(lambda db: int(db.execute(self._sql(statement), parameters).rowcount))

    def history(self, consent_id: str) -> list[ConsentEvent]:
        return self._rows(
            f"SELECT {COLUMNS} FROM consent_events WHERE consent_id = ? ORDER BY time",
            consent_id,
        )

    def erase(self, consent_id: str, *, pseudonymise: bool = False) -> int:
        if pseudonymise:
            return self._change(
                f"UPDATE consent_events SET consent_id = {self.erased_id} WHERE consent_id = ?",
                consent_id,
            )
        return self._change("DELETE FROM consent_events WHERE consent_id = ?", consent_id)

    def purge(self, before: float) -> int:
        return self._change("DELETE FROM consent_events WHERE time < ?", before)

    def events(self, since: float = 0.0) -> Iterator[ConsentEvent]:
        return iter(
            self._rows(f"SELECT {COLUMNS} FROM consent_events WHERE time >= ? ORDER BY time", since)
        )

    def close(self) -> None:
        with self._lock:
            connections, self._connections = self._connections, []
        for db in connections:
            db.close()
        self._local = threading.local()
