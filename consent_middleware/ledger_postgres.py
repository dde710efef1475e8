"""The consent ledger in PostgreSQL (``pip install 'consent_middleware[postgres]'``)."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import Any

from .events import ConsentEvent
from .exceptions import ConfigurationError
from .ledger import (
    COLUMNS,
    MIGRATIONS,
    SCHEMA_VERSION,
    LedgerUnavailable,
    event_to_row,
    row_to_event,
)

try:
    import psycopg
except ImportError:  # pragma: no cover - depends on the installed extras
    psycopg = None  # type: ignore[assignment]

__all__ = ["PostgresLedger"]

# Any one number serialises migrations of all processes that open the ledger at once.
_MIGRATION_LOCK = 27_560


class PostgresLedger:
    """A ledger in PostgreSQL, for shops running many app servers.

    Connects when first used, one connection per thread; a lost connection is reopened on
    the next call. Unreachable at start-up is not an error: events wait in the spool.
    """

    def __init__(self, dsn: str, *, connect_timeout: int = 5) -> None:
        if psycopg is None:
            raise ConfigurationError(
                "a PostgreSQL ledger needs psycopg: pip install 'consent_middleware[postgres]'"
            )
        try:
            psycopg.conninfo.conninfo_to_dict(dsn)
        except psycopg.ProgrammingError as e:
            raise ConfigurationError(f"ledger URL is not a valid PostgreSQL URL: {e}") from e
        self.dsn = dsn
        self.connect_timeout = connect_timeout
        self._local = threading.local()
        self._connections: list[Any] = []
        self._migrated = False
        self._lock = threading.Lock()

    def _connection(self) -> Any:
        connection = getattr(self._local, "connection", None)
        if connection is None or connection.closed:
            connection = psycopg.connect(
                self.dsn, autocommit=True, connect_timeout=self.connect_timeout
            )
            self._local.connection = connection
            with self._lock:
                self._connections = [c for c in self._connections if not c.closed]
                self._connections.append(connection)
        if not self._migrated:
            with self._lock:
                if not self._migrated:
                    self._migrate(connection)
                    self._migrated = True
        return connection

    def _migrate(self, connection: Any) -> None:
        with connection.transaction():
            connection.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            connection.execute(
                "CREATE TABLE IF NOT EXISTS consent_ledger_meta (key TEXT PRIMARY KEY, value TEXT)"
            )
            row = connection.execute(
                "SELECT value FROM consent_ledger_meta WHERE key = 'schema_version'"
            ).fetchone()
            current = int(row[0]) if row else 0
            for version in range(current + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[version]:
                    connection.execute(statement.format(text="TEXT", real="DOUBLE PRECISION"))
            connection.execute(
                "INSERT INTO consent_ledger_meta VALUES ('schema_version', %s) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (str(max(current, SCHEMA_VERSION)),),
            )

    def _run(self, work: Any) -> Any:
        try:
            return work(self._connection())
        except psycopg.Error as e:
            connection = getattr(self._local, "connection", None)
            if connection is not None and connection.closed:
                self._local.connection = None
            elif connection is not None and connection.broken:
                connection.close()
                self._local.connection = None
            raise LedgerUnavailable(f"PostgreSQL ledger: {e}") from e

    def write(self, events: Sequence[ConsentEvent]) -> int:
        if not events:
            return 0

        def work(db: Any) -> int:
            with db.transaction(), db.cursor() as cursor:
                cursor.executemany(
                    f"INSERT INTO consent_events ({COLUMNS}) VALUES "
                    "(%s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (event_id) DO NOTHING",
                    [event_to_row(e) for e in events],
                )
                return int(cursor.rowcount)

        return int(self._run(work))

    def history(self, consent_id: str) -> list[ConsentEvent]:
        def work(db: Any) -> list[ConsentEvent]:
            rows = db.execute(
                f"SELECT {COLUMNS} FROM consent_events WHERE consent_id = %s ORDER BY time",
                (consent_id,),
            ).fetchall()
            return [row_to_event(row) for row in rows]

        return list(self._run(work))

    def erase(self, consent_id: str, *, pseudonymise: bool = False) -> int:
        def work(db: Any) -> int:
            if pseudonymise:
                cursor = db.execute(
                    "UPDATE consent_events SET consent_id = 'erased-' || md5(random()::text)"
                    " WHERE consent_id = %s",
                    (consent_id,),
                )
            else:
                cursor = db.execute(
                    "DELETE FROM consent_events WHERE consent_id = %s", (consent_id,)
                )
            return int(cursor.rowcount)

        return int(self._run(work))

    def purge(self, before: float) -> int:
        def work(db: Any) -> int:
            return int(db.execute("DELETE FROM consent_events WHERE time < %s", (before,)).rowcount)

        return int(self._run(work))

    def events(self, since: float = 0.0) -> Iterator[ConsentEvent]:
        def work(db: Any) -> list[ConsentEvent]:
            rows = db.execute(
                f"SELECT {COLUMNS} FROM consent_events WHERE time >= %s ORDER BY time", (since,)
            ).fetchall()
            return [row_to_event(row) for row in rows]

        return iter(self._run(work))

    def count(self) -> int:
        """How many events the ledger holds."""
        return int(
            self._run(lambda db: db.execute("SELECT count(*) FROM consent_events").fetchone()[0])
        )

    def close(self) -> None:
        with self._lock:
            connections, self._connections = self._connections, []
        for connection in connections:
            connection.close()
        self._local = threading.local()

    def __repr__(self) -> str:
        return "<PostgresLedger>"
