"""The path from a choice to its proof: journals, the recorder, outages, crashes, full disks."""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from consent_middleware.ledger import journal as journal_module
from consent_middleware.ledger.events import ConsentEvent
from consent_middleware.ledger.journal import Journal, claim_orphans
from consent_middleware.ledger.recorder import Recorder
from consent_middleware.ledger.sql import Ledger, LedgerUnavailable
from consent_middleware.ledger.sqlite import SQLiteLedger

from .ledgers import KINDS, Switchable, event, make_ledger, postgres_schema, postgres_url
from .relay import Relay


def wait_for(condition: Callable[[], object], seconds: float = 30.0) -> None:
    """Poll until ``condition`` holds; a safety net against a hang, not a measure of speed."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition never held")
        time.sleep(0.01)


@pytest.fixture
def switchable(tmp_path: Path) -> Iterator[Switchable]:
    ledger = Switchable(SQLiteLedger(tmp_path / "ledger.db"))
    yield ledger
    ledger.inner.close()


def recorder_for(ledger: object, spool: Path, **options: Any) -> Recorder:
    options.setdefault("retry_seconds", 0.02)
    return Recorder(ledger, spool, **options)  # type: ignore[arg-type]


def stored_ids(ledger: Ledger) -> list[str]:
    return sorted(e.event_id for e in ledger.events())


# -- one journal per process ----------------------------------------------------------------


def test_two_processes_never_drop_each_others_events(tmp_path: Path) -> None:
    # The interleaving that lost events when processes shared one file, replayed with two
    # journals in one directory: each process only ever truncates its own.
    a, b = Journal(tmp_path), Journal(tmp_path)
    assert a.path != b.path
    e1, e2, e3 = event(), event(), event()
    a.append([e1, e2])
    _, size_a = a.read()
    _, size_b = b.read()
    assert a.drop(size_a)
    a.append([e3])
    b.drop(size_b)
    assert a.read()[0] == [e3]


def test_a_drop_after_a_later_append_keeps_everything(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    journal.append([event(), event()])
    _, size = journal.read()
    late = event()
    journal.append([late])
    assert not journal.drop(size)
    assert len(journal.read()[0]) == 3


def test_the_journal_is_private_to_its_owner(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "spool")
    assert (journal.path.stat().st_mode & 0o777) == 0o600
    assert ((tmp_path / "spool").stat().st_mode & 0o777) == 0o700


def test_a_short_write_leaves_no_half_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    journal = Journal(tmp_path)
    first = event()
    journal.append([first])
    real_write = os.write
    calls = 0

    def full_disk(fd: int, data: Any) -> int:
        nonlocal calls
        calls += 1
        if calls == 1:
            return real_write(fd, bytes(data[:7]))  # a short write, then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(journal_module.os, "write", full_disk)
    with pytest.raises(OSError):
        journal.append([event()])
    monkeypatch.setattr(journal_module.os, "write", real_write)
    assert journal.path.stat().st_size == len(first.to_json()) + 1
    after = event()
    journal.append([after])
    assert journal.read()[0] == [first, after]


def test_a_deleted_journal_is_followed_by_a_new_one_holding_its_events(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    spool = tmp_path / "spool"
    journal = Journal(spool)
    kept = event()
    journal.append([kept])
    shutil.rmtree(spool)
    later = event()
    with caplog.at_level(logging.ERROR):
        journal.append([later])
    assert "was deleted while in use" in caplog.text
    assert journal.path.exists()
    assert journal.read()[0] == [kept, later]


def test_a_live_journal_is_not_claimed_an_ended_one_is(tmp_path: Path) -> None:
    live, ended = Journal(tmp_path), Journal(tmp_path)
    live.append([event()])
    lost = [event(), event()]
    ended.append(lost)
    os.close(ended._fd)  # the process ends without cleaning up: its lock is released
    written: list[ConsentEvent] = []
    assert claim_orphans(tmp_path, written.extend, own=None) == 2
    assert written == lost
    assert not ended.path.exists()
    assert live.path.exists()


def test_an_orphan_stays_while_the_ledger_is_away(tmp_path: Path) -> None:
    ended = Journal(tmp_path)
    ended.append([event()])
    os.close(ended._fd)

    def down(events: list[ConsentEvent]) -> None:
        raise LedgerUnavailable("store stopped")

    with pytest.raises(LedgerUnavailable):
        claim_orphans(tmp_path, down, own=None)
    assert ended.path.exists()


# -- the recorder -------------------------------------------------------------------------


def test_a_kept_event_is_in_the_ledger_when_keep_returns(
    switchable: Switchable, tmp_path: Path
) -> None:
    recorder = recorder_for(switchable, tmp_path / "spool")
    item = event()
    assert recorder.keep(item)
    assert stored_ids(switchable.inner) == [item.event_id]
    assert list((tmp_path / "spool").glob("*.journal")) == []  # no file while all is well
    recorder.close()


def test_an_outage_is_bridged_by_the_journal(switchable: Switchable, tmp_path: Path) -> None:
    recorder = recorder_for(switchable, tmp_path / "spool")
    sent = [event(f"browser-{i:014d}") for i in range(60)]
    for item in sent[:20]:
        assert recorder.keep(item)
    switchable.down = True
    for item in sent[20:40]:
        assert recorder.keep(item)
    assert not recorder.available
    assert len(recorder.pending()) == 20
    switchable.down = False
    for item in sent[40:]:
        assert recorder.keep(item)
    wait_for(lambda: recorder.available and recorder.pending() == [])
    recorder.close()
    assert stored_ids(switchable.inner) == sorted(e.event_id for e in sent)


def test_nothing_durable_means_keep_says_no(
    switchable: Switchable, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = recorder_for(switchable, tmp_path / "spool")
    switchable.down = True

    def no_space(self: Journal, events: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Journal, "append", no_space)
    assert not recorder.keep(event())
    withdrawal = event(kind="withdrawn")
    recorder.keep_later(withdrawal)  # held in memory, retried
    monkeypatch.undo()
    switchable.down = False
    wait_for(lambda: withdrawal.event_id in stored_ids(switchable.inner))
    recorder.close()


@pytest.mark.parametrize("kind", KINDS)
def test_eight_threads_keep_everything_once(kind: str, tmp_path: Path) -> None:
    with make_ledger(kind, tmp_path) as ledger:
        recorder = recorder_for(ledger, tmp_path / "spool")
        sent: list[list[str]] = [[] for _ in range(8)]

        def keep(n: int) -> None:
            for i in range(300):
                item = event(f"browser-{n}-{i:012d}")
                assert recorder.keep(item)
                sent[n].append(item.event_id)

        threads = [threading.Thread(target=keep, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        recorder.close()
        assert stored_ids(ledger) == sorted(i for ids in sent for i in ids)


KILLED_WORKER = """
import sys, time
from consent_middleware.ledger.sql import LedgerUnavailable
from consent_middleware.ledger.recorder import Recorder
from tests.ledgers import event

class Down:
    def write(self, events):
        raise LedgerUnavailable("store stopped")
    def __getattr__(self, name):
        raise LedgerUnavailable("store stopped")

recorder = Recorder(Down(), sys.argv[1])
for n in range(50):
    item = event(f"browser-{n:014d}")
    assert recorder.keep(item)
    print(item.event_id, flush=True)
print("kept", flush=True)
time.sleep(60)
"""


def test_events_of_a_killed_process_are_claimed_by_the_next(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    worker = subprocess.Popen(
        [sys.executable, "-c", KILLED_WORKER, str(spool)],
        cwd=Path(__file__).parent.parent,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert worker.stdout is not None
    acknowledged = []
    for line in worker.stdout:
        if line.strip() == "kept":
            break
        acknowledged.append(line.strip())
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    worker.stdout.close()
    assert len(acknowledged) == 50
    ledger = SQLiteLedger(tmp_path / "ledger.db")
    recorder = recorder_for(ledger, spool)
    assert recorder.start()  # as the first consent request of a new process does
    wait_for(lambda: len(stored_ids(ledger)) == 50)
    recorder.close()
    assert stored_ids(ledger) == sorted(acknowledged)
    assert list(spool.glob("*.journal")) == []
    ledger.close()


# -- PostgreSQL through a relay that fails ----------------------------------------------------


@contextlib.contextmanager
def relayed_postgres(**options: Any) -> Iterator[tuple[Relay, Any, str]]:
    from consent_middleware.ledger.postgres import PostgresLedger

    with postgres_schema() as schema:
        url = postgres_url(schema)
        relay, relayed = Relay.to_url(url)
        ledger = PostgresLedger(relayed, **options)
        try:
            yield relay, ledger, url
        finally:
            ledger.close()
            relay.close()


def direct_ids(url: str) -> list[str]:
    from consent_middleware.ledger.postgres import PostgresLedger

    direct = PostgresLedger(url)
    try:
        return stored_ids(direct)
    finally:
        direct.close()


@pytest.mark.postgres
@pytest.mark.parametrize("failure", ["cut", "black_hole"])
def test_postgres_failures_are_bridged_and_nothing_is_lost(failure: str, tmp_path: Path) -> None:
    with relayed_postgres(connect_timeout=1, operation_timeout=1) as (relay, ledger, url):
        recorder = recorder_for(ledger, tmp_path / "spool", retry_seconds=0.1)
        sent = [event(f"browser-{i:014d}") for i in range(30)]
        for item in sent[:10]:
            assert recorder.keep(item)
        getattr(relay, failure)()
        results: list[bool] = []

        def keep_the_rest() -> None:
            results.extend(recorder.keep(item) for item in sent[10:20])

        thread = threading.Thread(target=keep_the_rest)
        thread.start()
        thread.join(60)  # a wait without a bound would hang here
        assert not thread.is_alive()
        assert results == [True] * 10
        assert not recorder.available
        relay.restore()
        for item in sent[20:]:
            assert recorder.keep(item)
        wait_for(lambda: recorder.available and recorder.pending() == [])
        recorder.close()
        assert direct_ids(url) == sorted(e.event_id for e in sent)


@pytest.mark.postgres
def test_a_slow_statement_is_cut_by_the_statement_timeout(tmp_path: Path) -> None:
    from consent_middleware.ledger.postgres import PostgresLedger

    with postgres_schema() as schema:
        ledger = PostgresLedger(postgres_url(schema), statement_timeout=0.2)
        ledger.write([event()])
        with pytest.raises(LedgerUnavailable, match="statement timeout"):
            ledger._run(lambda db: db.execute("SELECT pg_sleep(30)"))
        assert len(ledger.history("browser-one-000000")) == 1  # the pool recovers
        ledger.close()


# -- found in review: each fails without its fix --------------------------------------------


def test_a_drop_never_takes_an_append_of_the_same_size(tmp_path: Path) -> None:
    # Flush 1 reads e1; flush 2 writes e1 and empties the journal; e2 (as many bytes as e1)
    # is appended; flush 1 then drops what it read: e2 must stay.
    journal = Journal(tmp_path)
    first = event()
    journal.append([first])
    _, stale = journal.read()
    _, current = journal.read()
    assert journal.drop(current)
    second = event()
    assert len(second.to_json()) == len(first.to_json())
    journal.append([second])
    assert not journal.drop(stale)
    assert journal.read()[0] == [second]


def test_a_deleted_journal_is_carried_over_without_waiting_for_a_choice(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    journal = Journal(spool)
    kept = event()
    journal.append([kept])
    shutil.rmtree(spool)
    journal.check()
    assert journal.path.exists()
    assert journal.read()[0] == [kept]


def test_building_a_recorder_starts_no_thread(switchable: Switchable, tmp_path: Path) -> None:
    # A server that forks workers from a preloaded app must fork no thread and no lock.
    before = threading.active_count()
    recorder = recorder_for(switchable, tmp_path / "spool")
    assert threading.active_count() == before
    assert recorder.keep(event())
    assert threading.active_count() > before
    recorder.close()


def test_a_thread_that_cannot_start_is_no_5xx_and_no_hang(
    switchable: Switchable, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = recorder_for(switchable, tmp_path / "spool")

    def refuse(self: threading.Thread) -> None:
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(threading.Thread, "start", refuse)
    item = event()
    assert recorder.keep(item)  # committed by the caller itself
    monkeypatch.undo()
    assert stored_ids(switchable.inner) == [item.event_id]
    assert recorder.keep(event())
    recorder.close()


def test_the_withdrawal_watch_sees_a_choice_that_reached_the_ledger_late(tmp_path: Path) -> None:
    from consent_middleware.ledger.decisions import DecisionWatch

    ledger = SQLiteLedger(tmp_path / "ledger.db")
    watch = DecisionWatch(180 * 86400)
    watch.refresh(ledger, now=True)
    decided = int(time.time()) - 600
    # A withdrawal made ten minutes ago that waited in a journal until now.
    ledger.write([event(t=decided + 5.0, kind="withdrawn", granted=["necessary"])])
    watch.refresh(ledger, now=True)
    assert watch.stale("browser-one-000000", decided, frozenset({"necessary", "analytics"}))
    assert not watch.stale("browser-one-000000", decided + 5, frozenset({"necessary"}))
    ledger.close()


@pytest.mark.postgres
def test_an_operation_past_its_deadline_does_not_poison_the_pool(tmp_path: Path) -> None:
    from consent_middleware.ledger.postgres import PostgresLedger

    with postgres_schema() as schema:
        ledger = PostgresLedger(postgres_url(schema), operation_timeout=30.0)
        ledger.write([event()])  # connects and makes the tables, however busy the machine
        ledger._watchdog.timeout = 0.3
        # Overruns its deadline without a query in flight: its connection is cut meanwhile.
        ledger._run(lambda db: time.sleep(1.0))
        # What follows must not be cut itself when a busy machine makes it slow.
        ledger._watchdog.timeout = 30.0
        for _ in range(3):
            assert len(ledger.history("browser-one-000000")) == 1
        ledger.close()
