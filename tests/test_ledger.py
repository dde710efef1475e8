"""The ledger stores: SQLite always, PostgreSQL against a real server when configured."""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import stat
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from consent_middleware import ConfigurationError
from consent_middleware.ledger.events import ConsentEvent, event_kind
from consent_middleware.ledger.sql import Ledger, LedgerUnavailable, SQLLedger
from consent_middleware.ledger.sqlite import SQLiteLedger
from consent_middleware.ledger.url import open_ledger

from .ledgers import KINDS, event, make_ledger, postgres_schema, postgres_url


@pytest.fixture(params=KINDS)
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Ledger]:
    with make_ledger(request.param, tmp_path) as ledger:
        yield ledger


def test_write_is_idempotent_by_event_id(ledger: Ledger) -> None:
    first, second = event(), event()
    assert ledger.write([first, second]) == 2
    assert ledger.write([first, second, first]) == 0
    assert [e.event_id for e in ledger.history("browser-one-000000")] == sorted(
        [first.event_id, second.event_id], key=[first.event_id, second.event_id].index
    )


def test_history_is_one_browsers_events_oldest_first(ledger: Ledger) -> None:
    later = event(t=2_000.0)
    earlier = event(t=1_000.0, granted=["necessary"], refused=["analytics", "marketing"])
    ledger.write([later, earlier, event("browser-two-000000")])
    history = ledger.history("browser-one-000000")
    assert history == [earlier, later]
    assert history[0].granted == ("necessary",)


def test_erase_deletes_or_pseudonymises(ledger: Ledger) -> None:
    ledger.write([event(), event(), event("browser-two-000000")])
    assert ledger.erase("browser-one-000000") == 2
    assert ledger.history("browser-one-000000") == []
    assert ledger.erase("browser-two-000000", pseudonymise=True) == 1
    assert ledger.history("browser-two-000000") == []
    remaining = list(ledger.events())
    assert len(remaining) == 1
    assert remaining[0].consent_id.startswith("erased-")


def test_purge_deletes_only_older_events(ledger: Ledger) -> None:
    ledger.write([event(t=100.0), event(t=200.0), event(t=300.0)])
    assert ledger.purge(250.0) == 2
    assert [e.time for e in ledger.events()] == [300.0]
    assert [e.time for e in ledger.events(since=301.0)] == []


def test_reopening_keeps_the_schema_and_the_events(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    SQLiteLedger(path).write([event()])
    again = SQLiteLedger(path)
    assert len(again.history("browser-one-000000")) == 1
    version = sqlite3.connect(path).execute(
        "SELECT value FROM consent_ledger_meta WHERE key = 'schema_version'"
    )
    assert version.fetchone() == ("6",)


def test_a_version_one_ledger_is_migrated_and_keeps_its_events(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE consent_ledger_meta (key TEXT PRIMARY KEY, value TEXT);"
        "INSERT INTO consent_ledger_meta VALUES ('schema_version', '1');"
        "CREATE TABLE consent_events (event_id TEXT PRIMARY KEY, consent_id TEXT NOT NULL,"
        " time REAL NOT NULL, policy_version TEXT NOT NULL, granted TEXT NOT NULL,"
        " refused TEXT NOT NULL, method TEXT NOT NULL, kind TEXT NOT NULL, language TEXT NOT NULL);"
        "INSERT INTO consent_events VALUES ('e1', 'browser-one-000000', 1.0, '1',"
        " '[\"necessary\"]', '[]', 'banner', 'given', 'en');"
    )
    db.close()
    ledger = SQLiteLedger(path)
    assert [e.event_id for e in ledger.history("browser-one-000000")] == ["e1"]
    # Kept before the migration, yet read by the withdrawal watch as received then.
    assert ledger.changes_since(0.5) == []
    sqlite3.connect(path).execute(
        "UPDATE consent_events SET kind = 'withdrawn'"
    ).connection.commit()
    assert [e.event_id for e in ledger.changes_since(0.5)] == ["e1"]
    assert ledger.erase("browser-one-000000") == 1
    assert ledger.write([event(t=time.time() - 1)]) == 0
    ledger.close()


def test_the_sqlite_file_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    SQLiteLedger(path).write([event()])
    for name in ("ledger.db", "ledger.db-wal"):
        if (tmp_path / name).exists():
            assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600, name


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://shop", "is not supported"),
        (
            "postgresql+psycopg://shop:s3cret@db/shop",
            "ledger URL 'postgresql\\+psycopg://shop:\\*\\*\\*@db/shop' is not supported",
        ),
        ("sqlite://", "has no file"),
        ("sqlite://host/x.db", "has no file"),
        ("postgresql://a b c", "not a valid PostgreSQL URL"),
        ("postgresql://shop:s3cret@[db.example/shop", "cannot be read: Invalid IPv6 URL"),
        ("sqlite:///consent%00.db", "has no file"),
    ],
)
def test_bad_ledger_urls_fail_at_start_up(url: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as error:
        open_ledger(url)
    assert "s3cret" not in str(error.value)


def test_unwritable_sqlite_file_fails_at_start_up(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot be opened"):
        open_ledger(f"sqlite:///{tmp_path}/missing/dir/ledger.db")


def test_not_a_ledger_object() -> None:
    with pytest.raises(ConfigurationError, match="must be a URL"):
        open_ledger(42)  # type: ignore[arg-type]


def test_event_kinds() -> None:
    a, ab = frozenset({"a"}), frozenset({"a", "b"})
    assert event_kind(None, ab) == "given"
    assert event_kind(ab, a) == "withdrawn"
    assert event_kind(a, ab) == "changed"
    assert event_kind(a, a) == "changed"
    assert event_kind(None, a, renewed=True) == "renewed"


def test_event_json_round_trip() -> None:
    original = event()
    import json

    assert ConsentEvent.from_mapping(json.loads(original.to_json())) == original
    stopped = event(kind="stopped", signal="viewed_products")
    assert ConsentEvent.from_mapping(json.loads(stopped.to_json())) == stopped
    # A journal line written before signal-level choices existed.
    older = {k: v for k, v in json.loads(original.to_json()).items() if k != "signal"}
    assert ConsentEvent.from_mapping(older) == original


def test_a_signal_level_choice_is_kept_with_its_signal(ledger: Ledger) -> None:
    given = event(t=100.0)
    stopped = event(t=200.0, kind="stopped", method="why", signal="viewed_products")
    ledger.write([given, stopped])
    assert ledger.history("browser-one-000000") == [given, stopped]
    assert list(ledger.events()) == [given, stopped]
    assert stopped.for_shopper()["signal"] == "viewed_products"
    assert "signal" not in given.for_shopper()
    # It decides no purpose: the withdrawal watch never reads it as a decision.
    changes = getattr(ledger, "changes_since", None)
    if changes is not None:
        assert changes(0.0) == []


def test_a_version_two_ledger_is_migrated_to_signal_level_choices(tmp_path: Path) -> None:
    path = tmp_path / "two.db"
    ledger = SQLiteLedger(path)
    ledger.write([event(t=100.0)])
    ledger.close()
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE copy (event_id TEXT PRIMARY KEY, consent_id TEXT NOT NULL,"
        " time REAL NOT NULL, policy_version TEXT NOT NULL, granted TEXT NOT NULL,"
        " refused TEXT NOT NULL, method TEXT NOT NULL, kind TEXT NOT NULL,"
        " language TEXT NOT NULL, recorded REAL NOT NULL DEFAULT 0);"
        "INSERT INTO copy SELECT event_id, consent_id, time, policy_version, granted,"
        " refused, method, kind, language, recorded FROM consent_events;"
        "DROP TABLE consent_events; ALTER TABLE copy RENAME TO consent_events;"
        "UPDATE consent_ledger_meta SET value = '2' WHERE key = 'schema_version';"
    )
    db.commit()
    db.close()
    again = SQLiteLedger(path)
    assert [e.signal for e in again.history("browser-one-000000")] == [""]
    again.write([event(t=200.0, kind="stopped", signal="viewed_products")])
    assert [e.signal for e in again.history("browser-one-000000")] == ["", "viewed_products"]
    version = sqlite3.connect(path).execute(
        "SELECT value FROM consent_ledger_meta WHERE key = 'schema_version'"
    )
    assert version.fetchone() == ("6",)


# What each older schema lacks of the current one, undone newest first.
_LATER_THAN = {
    5: ["DROP TABLE consent_counts"],
    4: ["DROP TABLE consent_counts", "ALTER TABLE consent_events DROP COLUMN signal"],
    3: [
        "DROP TABLE consent_counts",
        "ALTER TABLE consent_events DROP COLUMN signal",
        "ALTER TABLE consent_events DROP COLUMN versions",
    ],
}


@pytest.mark.parametrize("old", [3, 4, 5])
@pytest.mark.parametrize("kind", KINDS)
def test_a_ledger_of_an_older_schema_migrates_when_opened(
    kind: str, old: int, tmp_path: Path
) -> None:
    # Schema 3 added the region, 4 the purposes' versions, 5 the signal, 6 the day counts.
    with _ledger_at(kind, tmp_path, old) as (opened, version):
        again = opened()
        (before,) = again.history("browser-one-000000")
        assert (before.signal, before.rule_set) == ("", "opt_in")
        assert before.versions == (() if old == 3 else (("analytics", "2"),))
        stopped = event(t=200.0, kind="stopped", signal="viewed_products", region="DE")
        again.write([stopped])
        assert again.history("browser-one-000000")[1] == stopped
        key = ("2026-11-29", "outcome", "order", "personalised", "", "")
        again.add_counts([(key, 2)])
        assert again.counts() == [(key, 2)]
        again.close()
        assert version() == "6"


@contextlib.contextmanager
def _ledger_at(
    kind: str, tmp_path: Path, old: int
) -> Iterator[tuple[Callable[[], SQLLedger], Callable[[], str]]]:
    """A store left at schema ``old`` holding one event: a function that opens it as a
    ledger, and one that reads its schema version."""
    statements = [
        *_LATER_THAN[old],
        f"UPDATE consent_ledger_meta SET value = '{old}' WHERE key = 'schema_version'",
    ]
    first = event(t=100.0, versions=[("analytics", "2")])
    read = "SELECT value FROM consent_ledger_meta WHERE key = 'schema_version'"
    if kind == "sqlite":
        path = tmp_path / "old.db"
        made = SQLiteLedger(path)
        made.write([first])
        made.close()
        with contextlib.closing(sqlite3.connect(path)) as db:
            for statement in statements:
                db.execute(statement)
            db.commit()

        def version() -> str:
            with contextlib.closing(sqlite3.connect(path)) as db:
                return str(db.execute(read).fetchone()[0])

        yield (lambda: SQLiteLedger(path)), version
        return
    import psycopg

    from consent_middleware.ledger.postgres import PostgresLedger

    with postgres_schema() as schema:
        url = postgres_url(schema)
        made_pg = PostgresLedger(url)
        made_pg.write([first])
        made_pg.close()
        with psycopg.connect(url, autocommit=True) as db:
            for statement in statements:
                db.execute(statement)

        def version_pg() -> str:
            with psycopg.connect(url) as db:
                row = db.execute(read).fetchone()
                assert row is not None
                return str(row[0])

        yield (lambda: PostgresLedger(url)), version_pg


# -- erasure is final ---------------------------------------------------------------------


def test_an_event_written_after_its_browser_was_erased_is_not_stored(ledger: Ledger) -> None:
    # The race seen in production, step by step: a worker holds an event of a browser, the
    # browser is erased, then the worker writes the event.
    held = event(t=time.time() - 1)
    ledger.write([event(t=time.time() - 2)])
    assert ledger.erase("browser-one-000000") == 1
    assert ledger.write([held, event("browser-two-000000")]) == 1
    assert ledger.history("browser-one-000000") == []
    assert len(ledger.history("browser-two-000000")) == 1


def test_a_choice_made_after_an_erasure_is_kept(ledger: Ledger) -> None:
    # An erasure that could not finish leaves the browser its cookie: what it chooses next
    # is proof of consent like any other.
    ledger.erase("browser-one-000000")
    later = event(t=time.time() + 1)
    assert ledger.write([later]) == 1
    assert ledger.history("browser-one-000000") == [later]


def test_pseudonymised_erasure_is_final_too(ledger: Ledger) -> None:
    ledger.write([event(t=time.time() - 2)])
    ledger.erase("browser-one-000000", pseudonymise=True)
    assert ledger.write([event(t=time.time() - 1)]) == 0
    assert ledger.history("browser-one-000000") == []


def test_the_tombstone_keeps_no_consent_id(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    ledger = SQLiteLedger(path)
    ledger.write([event()])
    ledger.erase("browser-one-000000")
    ledger.close()
    dump = "\n".join(sqlite3.connect(path).iterdump())
    assert "browser-one-000000" not in dump
    assert "consent_erasures" in dump


def test_tombstones_go_with_the_retention_purge(ledger: Ledger) -> None:
    ledger.erase("browser-one-000000")
    ledger.purge(before=4_000_000_000.0)
    assert ledger.write([event(t=time.time() - 1)]) == 1


@pytest.mark.parametrize("kind", KINDS)
def test_concurrent_writes_and_erasures_never_bring_an_erased_browser_back(
    kind: str, tmp_path: Path
) -> None:
    browsers = [f"browser-{n:012d}" for n in range(120)]
    with make_ledger(kind, tmp_path) as ledger:
        erased: set[str] = set()
        stop = threading.Event()

        # Events made before the erasures, still on their way (journals, other processes).
        made = time.time() - 1

        def write() -> None:
            while not stop.wait(0.002):
                # A lock held too long is an outage the recorder bridges; here, try again.
                with contextlib.suppress(LedgerUnavailable):
                    ledger.write([event(b, t=made) for b in browsers[::7] + browsers])

        writers = [threading.Thread(target=write) for _ in range(3)]
        for thread in writers:
            thread.start()
        for browser in browsers[::2]:
            while True:
                try:
                    ledger.erase(browser)
                    break
                except LedgerUnavailable:
                    continue
            erased.add(browser)
        stop.set()
        for thread in writers:
            thread.join()
        for browser in browsers:
            history = ledger.history(browser)
            assert (history == []) == (browser in erased), browser


# -- bounded resources --------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_threads_that_come_and_go_leave_no_connection_behind(kind: str, tmp_path: Path) -> None:
    with make_ledger(kind, tmp_path) as ledger:
        assert isinstance(ledger, SQLLedger)
        opened: list[object] = []
        connect = ledger._connect

        def counting() -> object:
            db = connect()
            opened.append(db)
            return db

        ledger._connect = counting  # type: ignore[method-assign]
        for n in range(40):
            # A fresh thread each time, as a server's thread pool retires idle threads.
            thread = threading.Thread(target=ledger.write, args=([event(f"b-{n:016d}")],))
            thread.start()
            thread.join()
        still_open = [db for db in opened if not _closed(db)]
        assert len(opened) <= SQLLedger.pool_size
        assert len(still_open) <= SQLLedger.pool_size


def _closed(db: object) -> bool:
    if isinstance(db, sqlite3.Connection):
        try:
            db.execute("SELECT 1")
        except sqlite3.ProgrammingError:
            return True
        return False
    return bool(db.closed)  # type: ignore[attr-defined]


def test_a_removed_sqlite_file_is_an_outage_with_a_clear_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "ledger.db"
    ledger = SQLiteLedger(path)
    ledger.write([event()])
    for name in os.listdir(tmp_path):
        os.unlink(tmp_path / name)
    with caplog.at_level(logging.ERROR), pytest.raises(LedgerUnavailable):
        ledger.write([event()])
    assert "was removed while in use" in caplog.text
    assert not path.exists()  # not silently made anew, empty, in the running process


def test_a_replaced_sqlite_file_is_used(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    ledger = SQLiteLedger(path)
    ledger.write([event()])
    ledger.close()
    os.rename(path, tmp_path / "moved.db")
    other = SQLiteLedger(path)
    other.write([event("browser-two-000000")])
    assert [e.consent_id for e in ledger.events()] == ["browser-two-000000"]


@pytest.mark.parametrize("kind", KINDS)
def test_a_connection_busy_while_the_ledger_closes_is_closed_after_its_work(
    kind: str, tmp_path: Path
) -> None:
    with make_ledger(kind, tmp_path) as ledger:
        assert isinstance(ledger, SQLLedger)
        with ledger._connection():
            ledger.close()  # a slow commit outlasted the recorder's shutdown
        assert ledger._idle == []
        acknowledged = event()
        assert ledger.write([acknowledged]) == 1  # usable again, as a new lifespan needs
        assert ledger.history(acknowledged.consent_id) == [acknowledged]


def test_a_connection_busy_while_the_file_is_replaced_is_not_used_again(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    ledger = SQLiteLedger(path)
    ledger.write([event()])
    with ledger._connection() as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        os.rename(path, tmp_path / "moved.db")
        SQLiteLedger(path).write([event("browser-two-000000")])
        ledger._check()  # another thread notices the new file meanwhile
    assert ledger._idle == []
    acknowledged = event("browser-three-0000")
    assert ledger.write([acknowledged]) == 1
    reopened = SQLiteLedger(path)
    assert reopened.history("browser-three-0000") == [acknowledged]
