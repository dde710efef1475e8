"""Proof of consent, data download and erasure through real requests to each host app."""

from __future__ import annotations

import datetime
import json
import logging
import re
import time
from pathlib import Path
from typing import Any

import pytest

from consent_middleware import ConsentPolicy, PersonalisationContext
from consent_middleware.ledger.sql import LedgerUnavailable
from consent_middleware.ledger.sqlite import SQLiteLedger

from .conftest import DriverFactory, make_cookie

OTHER = "x" * 32 + "-another-shops-key"
POLICY = ConsentPolicy.from_toml(Path(__file__).parent.parent / "examples" / "policy.toml")


class Shop:
    """A driver whose middleware records to a SQLite ledger, and that ledger."""

    def __init__(self, make_driver: DriverFactory, tmp_path: Path, **options: Any) -> None:
        self.path = tmp_path / "ledger.db"
        self.erased: list[str] = []
        self.driver = make_driver(
            policy=POLICY,
            ledger=f"sqlite:///{self.path}",
            data_exporters={
                "orders": lambda ctx: [{"order": 1, "total": 12.5}],
                "since": lambda ctx: datetime.date(2026, 1, 2),
            },
            data_erasers={"orders": self.erase_orders},
            **options,
        )
        self.ledger = SQLiteLedger(self.path)

    def erase_orders(self, ctx: PersonalisationContext) -> str:
        self.erased.append(ctx.consent_id or "")
        return "Your order history was deleted."

    def history(self, consent_id: str) -> list[Any]:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            events = self.ledger.history(consent_id)
            if events:
                return events
            time.sleep(0.01)
        return []


@pytest.fixture
def shop(make_driver: DriverFactory, tmp_path: Path) -> Shop:
    return Shop(make_driver, tmp_path)


def consent_id(value: str) -> str:
    return value.split(".")[-2]  # the consent id, before the signature


def test_every_choice_is_recorded_with_its_method(shop: Shop) -> None:
    driver = shop.driver
    first = driver.decide("accept_all", headers=[], cookies={})
    cid = consent_id(first)
    events = shop.history(cid)
    assert [(e.kind, e.method) for e in events] == [("given", "api")]
    assert "analytics" in events[0].granted
    assert events[0].refused == ("health_personalisation",)
    assert events[0].policy_version == POLICY.version
    assert events[0].language == "en"
    result = driver.post_form(
        [("action", "reject_all"), ("method", "banner")], cookies={driver.cookie_name: first}
    )
    assert result.status == 303
    deadline = time.monotonic() + 10
    while len(shop.ledger.history(cid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [(e.kind, e.method) for e in shop.ledger.history(cid)] == [
        ("given", "api"),
        ("withdrawn", "banner"),
    ]


def test_nothing_identifying_is_recorded(shop: Shop) -> None:
    value = shop.driver.decide("accept_all", headers=[("User-Agent", "Secret Browser 1.0")])
    assert shop.history(consent_id(value))
    raw = shop.path.read_bytes() + Path(f"{shop.path}-wal").read_bytes()
    assert consent_id(value).encode() in raw
    assert b"Secret Browser" not in raw
    assert b"127.0.0.1" not in raw


def test_expired_consent_is_renewed_under_the_same_id(shop: Shop) -> None:
    old = make_cookie(("analytics",), decided_at=int(time.time()) - 200 * 86400, policy=POLICY)
    renewed = shop.driver.decide("reject_all", cookies={shop.driver.cookie_name: old})
    assert consent_id(renewed) == consent_id(old)
    assert [e.kind for e in shop.history(consent_id(old))] == ["renewed"]


@pytest.mark.parametrize("forgery", ["bad-signature", "other-key", "unsigned", "outdated-forged"])
def test_renewal_never_adopts_the_id_of_an_unverified_cookie(shop: Shop, forgery: str) -> None:
    """Only a cookie this server signed can hand its id to a new choice: a forged one naming
    another browser's id must not join that browser's consent history."""
    victim = "victim-consent-id-0001"
    past = int(time.time()) - 200 * 86400
    genuine = make_cookie(("analytics",), decided_at=past, policy=POLICY, consent_id=victim)
    payload = genuine.rpartition(".")[0]
    forged = {
        "bad-signature": f"{payload}.{'A' * 43}",
        "other-key": make_cookie(
            (), decided_at=past, policy=POLICY, consent_id=victim, keys=[OTHER]
        ),
        "unsigned": payload,
        "outdated-forged": f"1.0123456789.0.0.{victim}.{'A' * 43}",
    }[forgery]
    value = shop.driver.decide("accept_all", cookies={shop.driver.cookie_name: forged})
    assert consent_id(value) != victim
    assert [e.kind for e in shop.history(consent_id(value))] == ["given"]
    assert shop.ledger.history(victim) == []


def test_gpc_withdrawal_is_recorded(shop: Shop) -> None:
    cookie = make_cookie(("marketing", "analytics"), decided_at=int(time.time()), policy=POLICY)
    shop.driver.get("/", cookies={shop.driver.cookie_name: cookie}, headers=[("Sec-GPC", "1")])
    events = shop.history("test-consent-id-0001")
    assert [(e.kind, e.method) for e in events] == [("withdrawn", "gpc")]
    assert "marketing" in events[0].refused


def test_download_holds_consent_history_visit_preferences_and_host_data(shop: Shop) -> None:
    driver = shop.driver
    value = driver.decide("save", ("personalisation",))
    cookies = {driver.cookie_name: value}
    visit = driver.get("/view/green-tea", cookies=cookies).cookie("__Host-consent_visit")
    cookies["__Host-consent_visit"] = visit or ""
    result = driver.get("/consent/data", cookies=cookies)
    assert result.status == 200
    assert result.header("content-type") == "application/json"
    assert result.header("content-disposition") == 'attachment; filename="my-shop-data.json"'
    assert result.header("cache-control") == "no-store"
    data = json.loads(result.text)
    assert data["consent"]["consent_id"] == consent_id(value)
    assert data["consent"]["mode"] == "personalised"
    assert [h["kind"] for h in data["history"]] == ["given"]
    assert set(data["history"][0]) == {
        "time",
        "granted",
        "refused",
        "method",
        "kind",
        "policy_version",
        "region",
        "rule_set",
        "versions",
    }
    # No region named by this shop: the strictest rules.
    assert (data["history"][0]["region"], data["history"][0]["rule_set"]) == (None, "opt_in")
    assert data["visit"] == {"viewed_products": ["green-tea"]}
    assert data["preferences"] == {}
    assert data["host"] == {"orders": [{"order": 1, "total": 12.5}], "since": "2026-01-02"}


def test_download_for_an_undecided_visitor(shop: Shop) -> None:
    data = json.loads(shop.driver.get("/consent/data").text)
    assert data["consent"]["decided"] is False
    assert data["consent"]["consent_id"] is None
    assert data["history"] == []


def test_erase_removes_history_cookies_and_host_data(shop: Shop) -> None:
    driver = shop.driver
    value = driver.decide("accept_all")
    cid = consent_id(value)
    assert shop.history(cid)
    cookies = {driver.cookie_name: value, "_ga": "1", "cart": "keep"}
    nonce, token = driver.csrf()
    cookies[driver.csrf_name] = nonce
    result = driver.request(
        "POST",
        "/consent/forget",
        headers=[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Origin", "https://shop.test"),
        ],
        cookies=cookies,
        body=f"csrf_token={token}".encode(),
    )
    assert result.status == 200
    assert "Your consent history (1 choice) was deleted." in result.text
    assert "Your order history was deleted." in result.text
    assert shop.erased == [cid]
    assert shop.ledger.history(cid) == []
    deleted = {c.partition("=")[0] for c in result.set_cookies if "Max-Age=0" in c}
    assert deleted == {driver.cookie_name, "_ga"}
    assert driver.mode(None)["decided"] is False


def test_erase_without_a_token_changes_nothing(shop: Shop) -> None:
    value = shop.driver.decide("accept_all")
    result = shop.driver.request(
        "POST",
        "/consent/forget",
        headers=[("Content-Type", "application/x-www-form-urlencoded")],
        cookies={shop.driver.cookie_name: value},
        body=b"",
    )
    assert result.status == 403
    assert result.set_cookies == []
    assert shop.history(consent_id(value))
    assert shop.erased == []


def test_erase_can_keep_anonymous_statistics(make_driver: DriverFactory, tmp_path: Path) -> None:
    shop = Shop(make_driver, tmp_path, pseudonymise_on_erase=True)
    value = shop.driver.decide("accept_all")
    assert shop.history(consent_id(value))
    nonce, token = shop.driver.csrf()
    result = shop.driver.request(
        "POST",
        "/consent/forget",
        headers=[("Content-Type", "application/x-www-form-urlencoded")],
        cookies={shop.driver.cookie_name: value, shop.driver.csrf_name: nonce},
        body=f"csrf_token={token}".encode(),
    )
    assert "is no longer linked to you" in result.text
    remaining = list(shop.ledger.events())
    assert len(remaining) == 1
    assert remaining[0].consent_id.startswith("erased-")


def test_forget_is_post_only(shop: Shop) -> None:
    result = shop.driver.get("/consent/forget")
    assert result.status == 405
    assert result.header("allow") == "POST"


def test_preference_centre_offers_download_and_erase(shop: Shop) -> None:
    html = shop.driver.get("/consent").text
    assert '<a class="consent-button" href="/consent/data" download>Download my data</a>' in html
    assert re.search(r'<form method="post" action="/consent/forget"', html)


def test_without_a_ledger_the_start_up_says_so(
    make_driver: DriverFactory, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="consent_middleware"):
        make_driver()
    warnings = [r for r in caplog.records if "not being recorded" in r.getMessage()]
    assert len(warnings) == 1


class Unreachable:
    """A ledger whose store is down."""

    def write(self, events: object) -> int:
        raise LedgerUnavailable("store stopped")

    def history(self, consent_id: str) -> list[Any]:
        raise LedgerUnavailable("store stopped")

    def erase(self, consent_id: str, *, pseudonymise: bool = False) -> int:
        raise LedgerUnavailable("store stopped")

    def purge(self, before: float) -> int:
        raise LedgerUnavailable("store stopped")

    def events(self, since: float = 0.0) -> Any:
        raise LedgerUnavailable("store stopped")

    def close(self) -> None:
        return None


def test_with_the_ledger_down_choices_are_spooled_and_still_downloadable(
    make_driver: DriverFactory, tmp_path: Path
) -> None:
    driver = make_driver(policy=POLICY, ledger=Unreachable(), spool=str(tmp_path / "spool"))
    value = driver.decide("accept_all")
    assert driver.mode(value)["mode"] == "personalised"  # the choice is honoured
    data = json.loads(driver.get("/consent/data", cookies={driver.cookie_name: value}).text)
    assert [h["kind"] for h in data["history"]] == ["given"]
    assert data["history_note"] == "The consent history could not be read just now."
    journals = list((tmp_path / "spool").glob("*.journal"))
    assert len(journals) == 1
    spooled = journals[0].read_text().splitlines()
    assert len(spooled) == 1
    assert json.loads(spooled[0])["consent_id"] == consent_id(value)


def test_the_download_speaks_the_shoppers_language(
    make_driver: DriverFactory, tmp_path: Path
) -> None:
    def broken(ctx: PersonalisationContext) -> object:
        raise RuntimeError("the shop's database is down")

    driver = make_driver(
        policy=POLICY,
        ledger=Unreachable(),
        spool=str(tmp_path / "spool"),
        languages=["en", "de"],
        data_exporters={"orders": broken},
    )
    value = driver.decide("accept_all")
    answer = driver.get(
        "/consent/data", cookies={driver.cookie_name: value}, headers=[("Accept-Language", "de")]
    )
    data = json.loads(answer.text)
    assert data["language"] == "de"
    assert data["history_note"] == "Der Einwilligungsverlauf konnte gerade nicht gelesen werden."
    assert data["host"]["orders"] == {
        "error": "dieser Teil konnte nicht exportiert werden; bitte wenden Sie sich an den Shop"
    }
