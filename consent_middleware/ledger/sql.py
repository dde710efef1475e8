"""The consent ledger: durable proof of every choice.

:class:`Ledger` is what the middleware needs of a store; :class:`SQLLedger` is the SQL that
the SQLite and PostgreSQL stores share. Writes are idempotent by event id, so replaying a
batch never duplicates. Erasure is final: an erased browser leaves a tombstone (a keyed hash
of its consent id, never the id) that turns every later write of its events into a no-op.
Each store keeps its schema version and applies newer migrations when it is first used.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol, TypeVar, runtime_checkable

from ..core.exceptions import ConsentError
from .events import ConsentEvent
from .forks import renew_after_fork
from .tally import CountKey, today

__all__ = ["Ledger", "LedgerUnavailable", "SQLLedger"]

SCHEMA_VERSION = 6
COLUMNS = (
    "event_id, consent_id, time, policy_version, granted, refused, method, kind, language,"
    " region, rule_set, versions, signal"
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
    2: [
        # One row per erased browser: a keyed hash of its consent id, and when.
        "CREATE TABLE IF NOT EXISTS consent_erasures ("
        " subject {text} PRIMARY KEY, time {real} NOT NULL)",
        "CREATE INDEX IF NOT EXISTS consent_erasures_by_time ON consent_erasures (time)",
        # When this store received each event (not when it happened): what is new to read.
        "ALTER TABLE consent_events ADD COLUMN recorded {real} NOT NULL DEFAULT 0",
        # Events kept before: received, at the latest, when they happened.
        "UPDATE consent_events SET recorded = time",
        "CREATE INDEX IF NOT EXISTS consent_events_by_recorded ON consent_events (recorded)",
    ],
    3: [
        # The jurisdiction of each decision. Events kept before were all made under opt-in
        # rules, the only ones there were; their region was not known.
        "ALTER TABLE consent_events ADD COLUMN region {text}",
        "ALTER TABLE consent_events ADD COLUMN rule_set {text} NOT NULL DEFAULT 'opt_in'",
    ],
    4: [
        # The purposes' own versions a choice covered, as a JSON object; none before.
        "ALTER TABLE consent_events ADD COLUMN versions {text} NOT NULL DEFAULT '{{}}'",
    ],
    5: [
        # Signal-level choices name their signal; choices of purposes leave it empty.
        "ALTER TABLE consent_events ADD COLUMN signal {text} NOT NULL DEFAULT ''",
    ],
    6: [
        # Feedback and outcomes, counted per day and mode: no identifier of anyone.
        "CREATE TABLE IF NOT EXISTS consent_counts ("
        " day {text} NOT NULL, kind {text} NOT NULL, name {text} NOT NULL,"
        " mode {text} NOT NULL, reason {text} NOT NULL, signal {text} NOT NULL,"
        " total BIGINT NOT NULL, PRIMARY KEY (day, kind, name, mode, reason, signal))",
    ],
}
#: Adds to a day's count, making it if it is the first.
ADD_COUNT = (
    "INSERT INTO consent_counts (day, kind, name, mode, reason, signal, total)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (day, kind, name, mode, reason, signal)"
    " DO UPDATE SET total = consent_counts.total + excluded.total"
)
#: Inserts an event unless it is stored already or its browser was erased after it happened
#: (a later choice of a browser whose erasure could not finish is kept).
INSERT = (
    f"INSERT INTO consent_events ({COLUMNS}, recorded)"
    f" SELECT {', '.join(['?'] * (len(COLUMNS.split(',')) + 1))}"
    " WHERE NOT EXISTS (SELECT 1 FROM consent_erasures WHERE subject = ? AND time >= ?)"
    " ON CONFLICT (event_id) DO NOTHING"
)

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
        """Delete one browser's events, or cut them loose from it; the number affected.

        Final: events of ``consent_id`` written afterwards are not stored.
        """
        ...

    def purge(self, before: float) -> int:
        """Delete events (and erasure tombstones) older than ``before`` (Unix seconds); the
        number of events deleted."""
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
        row[9],
        row[10],
        tuple(sorted(json.loads(row[11]).items())),
        row[12],
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
        event.region,
        event.rule_set,
        json.dumps(dict(event.versions)),
        event.signal,
    )


class SQLLedger:
    """The ledger in SQL: a small pool of connections per process, the statements both
    dialects share.

    A subclass connects (:meth:`_connect`), opens a transaction (:meth:`_transaction`),
    turns the driver's errors into :class:`LedgerUnavailable` (:attr:`_errors`) and names
    its dialect's details. Connections are taken from the pool for one operation and given
    back, so threads that come and go (a server's thread pool) leave no connection behind.
    """

    #: How the driver marks a parameter.
    placeholder = "?"
    #: The column types, for the migrations.
    real_type = "REAL"
    #: A random id for an erased browser's events kept for statistics.
    erased_id = "'erased-' || lower(hex(randomblob(8)))"
    #: Idle connections kept open in each process.
    pool_size = 4
    _errors: tuple[type[Exception], ...] = ()

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # Idle connections, each with the generation of the store it was opened on.
        self._idle: list[tuple[int, Any]] = []
        # Grows when the store is replaced under us: older connections are not used again.
        self._generation = 0
        # The key of the erasure tombstones, read from the store when first connected.
        self._erasure_key: bytes | None = None
        renew_after_fork(self)

    def _after_fork(self) -> None:
        self._lock = threading.Lock()
        # The parent still uses these: never touch them here, not even to close them.
        _inherited.extend(self._idle)
        self._idle = []

    def _connect(self) -> Any:
        raise NotImplementedError

    def _prepare(self, db: Any) -> None:
        """Session settings of a new connection (inside :meth:`_guard`)."""

    def _transaction(self, db: Any) -> contextlib.AbstractContextManager[Any]:
        raise NotImplementedError

    def _usable(self, db: Any) -> bool:
        return True

    def _guard(self, db: Any) -> contextlib.AbstractContextManager[object]:
        """Bounds how long one operation may wait on ``db``."""
        return contextlib.nullcontext()

    def _check(self) -> None:
        """Raise :class:`LedgerUnavailable` when the store is known to be gone."""

    @contextlib.contextmanager
    def _connection(self) -> Iterator[Any]:
        with self._lock:
            generation, db = self._idle.pop() if self._idle else (self._generation, None)
        if db is not None and (generation != self._generation or not self._usable(db)):
            _close(db)
            db = None
        fresh = db is None
        if fresh:
            generation = self._generation
            db = self._connect()
        healthy = False
        try:
            with self._guard(db):
                if fresh:
                    self._prepare(db)
                    if self._erasure_key is None:
                        self._erasure_key = self._migrate(db)
                yield db
            healthy = True
        finally:
            if healthy and generation == self._generation and self._usable(db):
                with self._lock:
                    if len(self._idle) < self.pool_size:
                        self._idle.append((generation, db))
                        db = None
            if db is not None:
                _close(db)

    def _migrate(self, db: Any) -> bytes:
        """Bring the schema up to date; the erasure key."""
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
            upsert = (
                "INSERT INTO consent_ledger_meta VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
            )
            db.execute(self._sql(upsert), ("schema_version", str(max(current, SCHEMA_VERSION))))
            db.execute(
                self._sql(
                    "INSERT INTO consent_ledger_meta VALUES ('erasure_key', ?) "
                    "ON CONFLICT (key) DO NOTHING"
                ),
                (secrets.token_hex(32),),
            )
            key = db.execute(
                "SELECT value FROM consent_ledger_meta WHERE key = 'erasure_key'"
            ).fetchone()
        return bytes.fromhex(key[0])

    def _lock_migrations(self, db: Any) -> None:
        """Keep other processes from migrating at the same time (inside the transaction)."""

    def _lock_subjects(self, db: Any, consent_ids: list[str]) -> None:
        """Keep a write and an erasure of the same browser apart (inside the transaction)."""

    def _subject(self, consent_id: str) -> str:
        assert self._erasure_key is not None
        return hmac.new(self._erasure_key, consent_id.encode(), hashlib.sha256).hexdigest()

    def _sql(self, statement: str) -> str:
        return statement.replace("?", self.placeholder)

    def _run(self, work: Callable[[Any], T]) -> T:
        try:
            self._check()
            with self._connection() as db:
                return work(db)
        except self._errors as e:
            raise LedgerUnavailable(f"{self!r}: {e}") from e

    def write(self, events: Sequence[ConsentEvent]) -> int:
        if not events:
            return 0

        def work(db: Any) -> int:
            with self._transaction(db):
                self._lock_subjects(db, sorted({e.consent_id for e in events}))
                cursor = db.cursor()
                now = time.time()
                rows = [
                    (*event_to_row(e), now, self._subject(e.consent_id), e.time) for e in events
                ]
                cursor.executemany(self._sql(INSERT), rows)
                return int(cursor.rowcount)

        return self._run(work)

    def _rows(self, statement: str, *parameters: object) -> list[ConsentEvent]:
        def work(db: Any) -> list[ConsentEvent]:
            rows = db.execute(self._sql(statement), parameters).fetchall()
            return [_row_to_event(row) for row in rows]

        return self._run(work)

    def history(self, consent_id: str) -> list[ConsentEvent]:
        return self._rows(
            f"SELECT {COLUMNS} FROM consent_events WHERE consent_id = ? ORDER BY time",
            consent_id,
        )

    def erase(self, consent_id: str, *, pseudonymise: bool = False) -> int:
        if pseudonymise:
            change = f"UPDATE consent_events SET consent_id = {self.erased_id} WHERE consent_id = ?"
        else:
            change = "DELETE FROM consent_events WHERE consent_id = ?"

        def work(db: Any) -> int:
            with self._transaction(db):
                self._lock_subjects(db, [consent_id])
                db.execute(
                    self._sql(
                        "INSERT INTO consent_erasures (subject, time) VALUES (?, ?) "
                        "ON CONFLICT (subject) DO UPDATE SET time = excluded.time"
                    ),
                    (self._subject(consent_id), time.time()),
                )
                return int(db.execute(self._sql(change), (consent_id,)).rowcount)

        return self._run(work)

    def purge(self, before: float) -> int:
        def work(db: Any) -> int:
            with self._transaction(db):
                db.execute(self._sql("DELETE FROM consent_erasures WHERE time < ?"), (before,))
                db.execute(self._sql("DELETE FROM consent_counts WHERE day < ?"), (today(before),))
                statement = self._sql("DELETE FROM consent_events WHERE time < ?")
                return int(db.execute(statement, (before,)).rowcount)

        return self._run(work)

    def add_counts(self, counts: Sequence[tuple[CountKey, int]]) -> None:
        """Add to the day counts (feedback, outcomes) in one transaction."""
        if not counts:
            return

        def work(db: Any) -> None:
            with self._transaction(db):
                rows = [(*key, number) for key, number in counts]
                db.cursor().executemany(self._sql(ADD_COUNT), rows)

        self._run(work)

    def counts(self, since_day: str = "") -> list[tuple[CountKey, int]]:
        """Every day count from ``since_day`` (``YYYY-MM-DD``) on, oldest day first."""

        def work(db: Any) -> list[tuple[CountKey, int]]:
            rows = db.execute(
                self._sql(
                    "SELECT day, kind, name, mode, reason, signal, total FROM consent_counts"
                    " WHERE day >= ? ORDER BY day, kind, name, mode, reason, signal"
                ),
                (since_day,),
            ).fetchall()
            return [((r[0], r[1], r[2], r[3], r[4], r[5]), int(r[6])) for r in rows]

        return self._run(work)

    def events(self, since: float = 0.0) -> Iterator[ConsentEvent]:
        return iter(
            self._rows(f"SELECT {COLUMNS} FROM consent_events WHERE time >= ? ORDER BY time", since)
        )

    def changes_since(self, since: float) -> list[ConsentEvent]:
        """The decisions other than first choices (``given``) that this store received
        since ``since`` (Unix seconds), whenever they happened: those that waited in a
        journal included. Signal-level choices decide no purpose and are left out."""
        return self._rows(
            f"SELECT {COLUMNS} FROM consent_events WHERE recorded >= ? AND kind <> 'given' "
            "AND signal = '' ORDER BY time",
            since,
        )

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
            # A connection still in use (a commit that outlasted the recorder's shutdown)
            # is closed when its work ends, not kept idle after the ledger was closed.
            self._generation += 1
        for _, db in idle:
            _close(db)


def _close(db: Any) -> None:
    with contextlib.suppress(Exception):
        db.close()


# Connections a forked child inherited: kept referenced so that they are never finalised
# (and so closed under the parent's feet) in the child.
_inherited: list[Any] = []
