"""Feedback without tracking: "Helpful" and "Too personal" counted per day, mode, kind of
reason and signal, with no identifier, shared by every process through the ledger; "Too
personal" about the shopper's own data also switches those signals off."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from consent_middleware import ConsentMiddleware, ConsentPolicy, ConsentWSGIMiddleware
from consent_middleware.ledger.sql import Ledger
from consent_middleware.ledger.sqlite import SQLiteLedger
from consent_middleware.ledger.tally import CountKey, Tally, today

from .apps import starlette_app, wsgi_app
from .conftest import KEY, ORIGIN, Driver, Result, asgi_sender, wsgi_sender
from .ledgers import KINDS, Switchable, make_ledger

POLICY = ConsentPolicy.from_toml(Path(__file__).parent.parent / "examples" / "policy.toml")


class Shop:
    """One host app behind the middleware, its ledger (which can be stopped) and its tally."""

    def __init__(self, kind: str, tmp_path: Path) -> None:
        self.ledger = Switchable(SQLiteLedger(tmp_path / "ledger.db"))
        options: dict[str, Any] = {
            "policy": POLICY,
            "secret_keys": [KEY],
            "ledger": self.ledger,
            "spool": str(tmp_path / "spool"),
        }
        if kind == "asgi":
            self.middleware: Any = ConsentMiddleware(starlette_app(), **options)
            sender = asgi_sender(self.middleware)
        else:
            self.middleware = ConsentWSGIMiddleware(wsgi_app, **options)
            sender = wsgi_sender(self.middleware)
        self.driver = Driver(kind, sender, True)
        self.tally = self.middleware.engine.records.tally

    def answer(
        self, fields: list[tuple[str, str]], cookies: dict[str, str] | None = None, **kw: Any
    ) -> Result:
        headers = [("Content-Type", "application/x-www-form-urlencoded")]
        headers.append(("Origin", kw.get("origin", ORIGIN)))
        return self.driver.request(
            "POST",
            "/consent/feedback",
            headers=headers,
            cookies=cookies,
            body=urlencode(fields).encode(),
        )

    def counts(self) -> list[tuple[CountKey, int]]:
        assert self.tally is not None and self.tally.flush()
        return self.ledger.inner.counts()  # type: ignore[attr-defined,no-any-return]


@pytest.fixture(params=["asgi", "wsgi"])
def shop(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Shop]:
    made = Shop(request.param, tmp_path)
    yield made
    made.middleware.close()


def test_helpful_is_counted_with_no_identifier(shop: Shop) -> None:
    fields = [("answer", "helpful"), ("kind", "general"), ("next", "/category/tea")]
    for _ in range(2):
        result = shop.answer(fields)  # a general suggestion: no form token needed
        assert (result.status, result.header("location")) == (303, "/category/tea")
        assert result.set_cookies == []
    assert shop.counts() == [
        ((today(), "feedback", "helpful", "non_personalised", "general", ""), 2)
    ]
    columns = [
        row[1]
        for row in sqlite3.connect(shop.ledger.inner.path).execute(
            "PRAGMA table_info(consent_counts)"
        )
    ]
    # A day, what was counted, and how many: no consent id, no address, no time of day.
    assert columns == ["day", "kind", "name", "mode", "reason", "signal", "total"]


def test_too_personal_switches_the_signals_off_and_counts_each(shop: Shop) -> None:
    consent = shop.driver.decide("save", ("personalisation",))
    nonce, token = shop.driver.csrf()
    cookies = {shop.driver.cookie_name: consent, shop.driver.csrf_name: nonce}
    fields = [
        ("answer", "too_personal"),
        ("kind", "personal"),
        ("signal", "viewed_products"),
        ("signal", "favourite_categories"),
        ("next", "/"),
    ]
    refused = shop.answer(fields, cookies)  # stopping needs the form token
    assert refused.status == 403 and refused.set_cookies == []
    result = shop.answer([*fields, ("csrf_token", token)], cookies)
    assert result.status == 303
    assert result.cookie("__Host-consent_signals")
    cookies["__Host-consent_signals"] = result.cookie("__Host-consent_signals") or ""
    assert shop.driver.get("/prefs", cookies=cookies).status == 403  # switched off
    day = today()
    assert shop.counts() == [
        ((day, "feedback", "too_personal", "personalised", "personal", "favourite_categories"), 1),
        ((day, "feedback", "too_personal", "personalised", "personal", "viewed_products"), 1),
    ]
    consent_id = consent.split(".")[-2]  # before the signature
    assert shop.middleware.engine.records.recorder.flush()
    kinds = [(e.kind, e.method, e.signal) for e in shop.ledger.inner.history(consent_id)]
    assert kinds[1:] == [
        ("stopped", "feedback", "viewed_products"),
        ("stopped", "feedback", "favourite_categories"),
    ]


@pytest.mark.parametrize(
    ("fields", "origin", "status"),
    [
        pytest.param([("answer", "meh"), ("kind", "general")], ORIGIN, 400, id="answer"),
        pytest.param([("answer", "helpful"), ("kind", "secret")], ORIGIN, 400, id="kind"),
        pytest.param([("answer", "helpful")], ORIGIN, 400, id="no-kind"),
        pytest.param(
            [("answer", "helpful"), ("kind", "personal"), ("signal", "nope")],
            ORIGIN,
            400,
            id="unknown-signal",
        ),
        pytest.param(
            [("answer", "helpful"), ("kind", "general")], "https://evil.test", 403, id="origin"
        ),
    ],
)
def test_a_bad_answer_is_refused_and_counts_nothing(
    shop: Shop, fields: list[tuple[str, str]], origin: str, status: int
) -> None:
    assert shop.answer(fields, origin=origin).status == status
    assert shop.counts() == []


def test_only_post_is_answered(shop: Shop) -> None:
    assert shop.driver.get("/consent/feedback").status == 405


def test_with_the_ledger_down_an_answer_never_fails_and_is_written_later(shop: Shop) -> None:
    shop.ledger.down = True
    shop.ledger.inner.add_counts = _down  # type: ignore[attr-defined]
    assert shop.answer([("answer", "helpful"), ("kind", "general")]).status == 303
    assert shop.tally is not None
    assert shop.tally.flush() is False
    assert sum(shop.tally.pending().values()) == 1  # kept, to try again
    del shop.ledger.inner.add_counts
    shop.ledger.down = False
    assert shop.counts()[0][1] == 1


def _down(counts: object) -> None:
    raise sqlite3.OperationalError("disk I/O error")


def test_without_a_ledger_answers_are_not_kept_and_pages_work() -> None:
    middleware = ConsentWSGIMiddleware(wsgi_app, policy=POLICY, secret_keys=[KEY])
    assert middleware.engine.records.tally is None
    driver = Driver("wsgi", wsgi_sender(middleware), True)
    result = driver.request(
        "POST",
        "/consent/feedback",
        headers=[("Content-Type", "application/x-www-form-urlencoded"), ("Origin", ORIGIN)],
        body=b"answer=helpful&kind=general",
    )
    assert result.status == 303


# -- the tally and the ledger's totals ------------------------------------------------------


@pytest.fixture(params=KINDS)
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Ledger]:
    with make_ledger(request.param, tmp_path) as made:
        yield made


def test_processes_add_up_to_one_total(ledger: Any, tmp_path: Path) -> None:
    """Each worker process has its own tally on the shared ledger; the totals add up."""
    workers = [Tally(ledger, flush_seconds=0.01) for _ in range(4)]
    threads = [
        threading.Thread(
            target=lambda t=t: [t.add("outcome", "basket_add", "session") for _ in range(250)]
        )
        for t in workers
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for worker in workers:
        worker.close()
    assert ledger.counts() == [((today(), "outcome", "basket_add", "session", "", ""), 1000)]


def test_counts_are_purged_with_the_events(ledger: Any) -> None:
    ledger.add_counts([(("2020-01-01", "outcome", "order", "session", "", ""), 3)])
    ledger.add_counts([((today(), "outcome", "order", "session", "", ""), 2)])
    ledger.purge(before=1_600_000_000.0)  # 2020-09-13
    assert [key[0] for key, _ in ledger.counts()] == [today()]
    assert ledger.counts(since_day=today()) == ledger.counts()


class _Store:
    def __init__(self) -> None:
        self.written: list[tuple[CountKey, int]] = []

    def add_counts(self, counts: Any) -> None:
        self.written.extend(counts)


def test_beyond_its_limit_a_tally_drops_new_keys_and_says_so(caplog: Any) -> None:
    store = _Store()
    tally = Tally(store, max_keys=2)
    for name in ("a", "b", "c", "a"):
        tally.add("outcome", name, "session")
    assert sorted((key[2], n) for key, n in tally.pending().items()) == [("a", 2), ("b", 1)]
    assert "new ones are dropped" in caplog.text
    tally.close()
    assert sorted((key[2], n) for key, n in store.written) == [("a", 2), ("b", 1)]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_a_forked_worker_starts_with_no_counts_of_its_parent() -> None:
    store = _Store()
    tally = Tally(store)
    tally.add("outcome", "a", "session")
    tally._after_fork()  # what renew_after_fork runs in a child
    assert tally.pending() == {}
    tally.close()
    assert store.written == []


def _count_in_a_worker(url: str, number: int) -> None:
    from consent_middleware.ledger.url import open_ledger

    store: Any = open_ledger(url)
    tally = Tally(store)
    for _ in range(number):
        tally.add("outcome", "order", "personalised")
    tally.close()
    store.close()


def test_worker_processes_share_one_total(tmp_path: Path) -> None:
    import multiprocessing

    url = f"sqlite:///{tmp_path}/ledger.db"
    SQLiteLedger(tmp_path / "ledger.db").close()
    spawn = multiprocessing.get_context("spawn")
    workers = [spawn.Process(target=_count_in_a_worker, args=(url, 300)) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    totals = SQLiteLedger(tmp_path / "ledger.db").counts()
    assert totals == [((today(), "outcome", "order", "personalised", "", ""), 900)]
