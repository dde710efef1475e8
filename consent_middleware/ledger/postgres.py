"""The consent ledger in PostgreSQL (``pip install 'consent_middleware[postgres]'``)."""

from __future__ import annotations

import contextlib
import heapq
import itertools
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

from ..core.exceptions import ConfigurationError
from .forks import renew_after_fork
from .sql import LedgerUnavailable, SQLLedger

try:
    import psycopg
except ImportError:  # pragma: no cover - depends on the installed extras
    psycopg = None  # type: ignore[assignment]

__all__ = ["PostgresLedger"]

# Any one number: it serialises the migrations of all processes opening the ledger at once.
_MIGRATION_LOCK = 27_560


class PostgresLedger(SQLLedger):
    """A ledger in PostgreSQL, for shops running many app servers.

    Connects when first used and keeps a few connections per process; a lost connection
    is replaced on the next call. Unreachable at start-up is not an error: choices wait in
    the spool. Every wait is bounded: connecting by ``connect_timeout``, a statement by
    ``statement_timeout`` on the server, and a whole operation by ``operation_timeout`` on
    this side, which also ends a wait on a connection that went silent (a network path
    that drops packets without closing).
    """

    placeholder = "%s"
    real_type = "DOUBLE PRECISION"
    erased_id = "'erased-' || md5(random()::text)"

    def __init__(
        self,
        dsn: str,
        *,
        connect_timeout: float = 3.0,
        statement_timeout: float = 5.0,
        operation_timeout: float = 10.0,
    ) -> None:
        if psycopg is None:
            raise ConfigurationError(
                "a PostgreSQL ledger needs psycopg: pip install 'consent_middleware[postgres]'"
            )
        try:
            psycopg.conninfo.conninfo_to_dict(dsn)
        except psycopg.ProgrammingError as e:
            raise ConfigurationError(f"ledger URL is not a valid PostgreSQL URL: {e}") from e
        for name, value in (
            ("connect_timeout", connect_timeout),
            ("statement_timeout", statement_timeout),
            ("operation_timeout", operation_timeout),
        ):
            if not isinstance(value, int | float) or value <= 0:
                raise ConfigurationError(f"{name} must be a positive number of seconds")
        super().__init__()
        self._errors = (psycopg.Error,)
        self.dsn = dsn
        self.connect_timeout = connect_timeout
        self.statement_timeout = statement_timeout
        self._watchdog = _Watchdog(operation_timeout)

    def _connect(self) -> Any:
        return psycopg.connect(
            self.dsn,
            autocommit=True,
            connect_timeout=max(1, round(self.connect_timeout)),
            application_name="consent_middleware",
        )

    def _prepare(self, db: Any) -> None:
        db.execute(f"SET statement_timeout = {int(self.statement_timeout * 1000)}")
        db.execute(
            f"SET idle_in_transaction_session_timeout = {int(self.statement_timeout * 2000)}"
        )

    def _usable(self, db: Any) -> bool:
        return not (db.closed or db.broken)

    def _transaction(self, db: Any) -> contextlib.AbstractContextManager[Any]:
        return db.transaction()  # type: ignore[no-any-return]

    def _guard(self, db: Any) -> contextlib.AbstractContextManager[object]:
        return self._watchdog.watch(db)

    def _lock_migrations(self, db: Any) -> None:
        db.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))

    def _lock_subjects(self, db: Any, consent_ids: list[str]) -> None:
        # In one order for every transaction, so that two batches never deadlock.
        db.execute(
            "SELECT pg_advisory_xact_lock(1, h) FROM "
            "(SELECT DISTINCT hashtext(c) AS h FROM unnest(%s::text[]) AS c ORDER BY h) AS s",
            (consent_ids,),
        )

    def holds_ledger(self) -> bool:
        """Whether the database holds a consent ledger already, looked at without making
        one; :class:`LedgerUnavailable` when it cannot be reached."""
        try:
            with contextlib.closing(self._connect()) as db:
                row = db.execute("SELECT to_regclass('consent_events')").fetchone()
        except psycopg.Error as e:
            raise LedgerUnavailable(f"{self!r}: {e}") from e
        return row is not None and row[0] is not None

    def __repr__(self) -> str:
        return "<PostgresLedger>"


class _Watchdog:
    """Ends operations that outlive their deadline by shutting their connection's socket
    down: the driver's wait then fails at once, and the connection is dropped."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._after_fork()
        renew_after_fork(self)

    def _after_fork(self) -> None:
        self._condition = threading.Condition()
        self._deadlines: list[tuple[float, int]] = []
        self._watched: dict[int, Any] = {}
        self._thread: threading.Thread | None = None
        self._ids = itertools.count()

    @contextlib.contextmanager
    def watch(self, db: Any) -> Iterator[None]:
        key = next(self._ids)
        with self._condition:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="consent-ledger-watchdog", daemon=True
                )
                self._thread.start()
            heapq.heappush(self._deadlines, (time.monotonic() + self.timeout, key))
            self._watched[key] = db
            self._condition.notify()
        try:
            yield
        finally:
            with self._condition:
                cut = self._watched.pop(key, None) is None
            if cut:
                # Never handed back to the pool: its socket is shut down.
                with contextlib.suppress(Exception):
                    db.close()

    def _run(self) -> None:
        while True:
            with self._condition:
                while self._deadlines and self._deadlines[0][1] not in self._watched:
                    heapq.heappop(self._deadlines)
                if not self._deadlines:
                    self._condition.wait()
                    continue
                deadline, key = self._deadlines[0]
                late = deadline - time.monotonic()
                if late > 0:
                    self._condition.wait(late)
                    continue
                heapq.heappop(self._deadlines)
                # Cut while holding the lock: the operation cannot end and hand the
                # connection to another in between.
                _cut(self._watched.pop(key))


def _cut(db: Any) -> None:
    with contextlib.suppress(Exception):
        fd = db.pgconn.socket
        sock = socket.socket(fileno=fd)
        try:
            sock.shutdown(socket.SHUT_RDWR)
        finally:
            sock.detach()  # the driver still owns the descriptor
