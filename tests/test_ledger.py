"""The ledger stores: SQLite always, PostgreSQL against a real server when configured."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from consent_middleware import ConfigurationError
from consent_middleware.events import ConsentEvent, event_kind
from consent_middleware.journal import Journal, LedgerWriter
from consent_middleware.ledger import Ledger, LedgerUnavailable
from consent_middleware.ledger_sqlite import SQLiteLedger
from consent_middleware.ledger_url import open_ledger

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
    import sqlite3

    version = sqlite3.connect(path).execute(
        "SELECT value FROM consent_ledger_meta WHERE key = 'schema_version'"
    )
    assert version.fetchone() == ("1",)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://shop", "is not supported"),
        ("sqlite://", "has no file"),
        ("sqlite://host/x.db", "has no file"),
        ("postgresql://a b c", "not a valid PostgreSQL URL"),
    ],
)
def test_bad_ledger_urls_fail_at_start_up(url: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        open_ledger(url)


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


# -- the journal and the writer -----------------------------------------------------------


def wait_for(condition: object, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.01)


def test_journal_keeps_lines_appended_while_writing(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "spool")
    journal.append([event(), event()])
    events, size = journal.read()
    late = event()
    journal.append([late])
    journal.drop(size)
    assert journal.read()[0] == [late]


def test_journal_keeps_an_unreadable_line(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "spool"
    path.write_text("not json\n")
    journal = Journal(path)
    journal.append([event()])
    assert len(journal.read()[0]) == 1
    assert "unreadable line" in caplog.text


def write_from_eight_threads(writer: LedgerWriter, per_writer: int) -> set[str]:
    ids: list[list[str]] = [[] for _ in range(8)]

    def write(n: int) -> None:
        for i in range(per_writer):
            item = event(f"browser-{n}-{i:012d}")
            ids[n].append(item.event_id)
            writer.record(item)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {i for batch in ids for i in batch}


@pytest.mark.parametrize("kind", KINDS)
def test_eight_writers_lose_and_duplicate_nothing(kind: str, tmp_path: Path) -> None:
    with make_ledger(kind, tmp_path) as ledger:
        writer = LedgerWriter(ledger, Journal(tmp_path / "spool"))
        sent = write_from_eight_threads(writer, 5000)
        writer.close()
        stored = [e.event_id for e in ledger.events()]
        assert len(stored) == 8 * 5000
        assert set(stored) == sent
        assert writer.journal.read()[0] == []


class Switchable:
    """A ledger that can be made unreachable, as a stopped store would be."""

    def __init__(self, inner: Ledger) -> None:
        self.inner = inner
        self.down = False

    def write(self, events: list[ConsentEvent]) -> int:
        if self.down:
            raise LedgerUnavailable("store stopped")
        return self.inner.write(events)

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


def test_outage_spools_then_writes_everything_once(tmp_path: Path) -> None:
    store = Switchable(SQLiteLedger(tmp_path / "ledger.db"))
    writer = LedgerWriter(store, Journal(tmp_path / "spool"), retry_seconds=0.05)  # type: ignore[arg-type]
    sent = [event(f"browser-{i:014d}") for i in range(300)]
    for item in sent[:100]:
        writer.record(item)
    wait_for(lambda: len(list(store.inner.events())) == 100)
    store.down = True
    for item in sent[100:200]:
        writer.record(item)
    wait_for(lambda: not writer.available)
    assert len(writer.journal.read()[0]) >= 100
    assert writer.journal.path.stat().st_size > 0
    store.down = False
    for item in sent[200:]:
        writer.record(item)
    wait_for(lambda: writer.available and writer.journal.read()[0] == [])
    writer.close()
    stored = [e.event_id for e in store.inner.events()]
    store.inner.close()
    assert sorted(stored) == sorted(e.event_id for e in sent)


def test_spool_left_by_a_previous_run_is_written_at_start(tmp_path: Path) -> None:
    Journal(tmp_path / "spool").append([event(), event()])
    ledger = SQLiteLedger(tmp_path / "ledger.db")
    writer = LedgerWriter(ledger, Journal(tmp_path / "spool"))
    wait_for(lambda: len(list(ledger.events())) == 2)
    writer.close()
    ledger.close()


# -- PostgreSQL stopped and started again --------------------------------------------------


class Proxy:
    """A TCP relay to PostgreSQL that can be stopped and started, like the server."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.listener.listen()
        self.running = True
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.running:
                client.close()
                continue
            server = socket.create_connection(self.target)
            self.sockets += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, target):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        self.running = False
        for s in self.sockets:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()
        self.sockets = []

    def start(self) -> None:
        self.running = True

    def close(self) -> None:
        self.stop()
        self.listener.close()


def relayed_url(url: str, port: int) -> str:
    """``url`` with its host and port replaced by the relay's."""
    parts = urlsplit(url)
    credentials, _, _ = parts.netloc.rpartition("@")
    host = f"127.0.0.1:{port}"
    return urlunsplit(parts._replace(netloc=f"{credentials}@{host}" if credentials else host))


@pytest.mark.postgres
def test_postgres_outage_spools_then_writes_everything_once(tmp_path: Path) -> None:
    from consent_middleware.ledger_postgres import PostgresLedger

    with postgres_schema() as schema:
        url = postgres_url(schema)
        parts = urlsplit(url)
        proxy = Proxy((parts.hostname or "127.0.0.1", parts.port or 5432))
        ledger = PostgresLedger(relayed_url(url, proxy.port), connect_timeout=2)
        writer = LedgerWriter(ledger, Journal(tmp_path / "spool"), retry_seconds=0.1)
        sent = [event(f"browser-{i:014d}") for i in range(300)]
        for item in sent[:100]:
            writer.record(item)
        wait_for(lambda: writer.journal.read()[0] == [])
        proxy.stop()
        for item in sent[100:200]:
            writer.record(item)
        wait_for(lambda: not writer.available)
        assert len(writer.journal.read()[0]) >= 100
        proxy.start()
        for item in sent[200:]:
            writer.record(item)
        wait_for(lambda: writer.available and writer.journal.read()[0] == [])
        writer.close()
        ledger.close()
        proxy.close()
        direct = PostgresLedger(url)
        stored = [e.event_id for e in direct.events()]
        direct.close()
        assert sorted(stored) == sorted(e.event_id for e in sent)
