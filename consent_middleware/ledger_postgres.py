"""The consent ledger in PostgreSQL (``pip install 'consent_middleware[postgres]'``)."""

from __future__ import annotations

import contextlib
from typing import Any

from .exceptions import ConfigurationError
from .ledger import COLUMNS, SQLLedger

try:
    import psycopg
except ImportError:  # pragma: no cover - depends on the installed extras
    psycopg = None  # type: ignore[assignment]

__all__ = ["PostgresLedger"]

# Any one number: it serialises the migrations of all processes opening the ledger at once.
_MIGRATION_LOCK = 27_560


class PostgresLedger(SQLLedger):
    """A ledger in PostgreSQL, for shops running many app servers.

    Connects when first used, one connection per thread; a lost connection is reopened on
    the next call. Unreachable at start-up is not an error: events wait in the spool.
    """

    placeholder = "%s"
    real_type = "DOUBLE PRECISION"
    insert = (
        f"INSERT INTO consent_events ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (event_id) DO NOTHING"
    )
    erased_id = "'erased-' || md5(random()::text)"

    def __init__(self, dsn: str, *, connect_timeout: int = 5) -> None:
        if psycopg is None:
            raise ConfigurationError(
                "a PostgreSQL ledger needs psycopg: pip install 'consent_middleware[postgres]'"
            )
        try:
            psycopg.conninfo.conninfo_to_dict(dsn)
        except psycopg.ProgrammingError as e:
            raise ConfigurationError(f"ledger URL is not a valid PostgreSQL URL: {e}") from e
        super().__init__()
        self._errors = (psycopg.Error,)
        self.dsn = dsn
        self.connect_timeout = connect_timeout

    def _connect(self) -> Any:
        return psycopg.connect(self.dsn, autocommit=True, connect_timeout=self.connect_timeout)

    def _usable(self, db: Any) -> bool:
        return not (db.closed or db.broken)

    def _transaction(self, db: Any) -> contextlib.AbstractContextManager[Any]:
        return db.transaction()  # type: ignore[no-any-return]

    def _lock_migrations(self, db: Any) -> None:
        db.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))

    def __repr__(self) -> str:
        return "<PostgresLedger>"
