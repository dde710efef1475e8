"""What the shopper is told matches what was kept: through real requests to each host app."""

from __future__ import annotations

import asyncio
import errno
import logging
import re
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from consent_middleware import ConfigurationError, ConsentMiddleware, ConsentPolicy
from consent_middleware.ledger.events import ConsentEvent
from consent_middleware.ledger.journal import Journal
from consent_middleware.ledger.sqlite import SQLiteLedger

from .conftest import KEY, ORIGIN, Driver, DriverFactory, asgi_sender, make_cookie
from .ledgers import Switchable

POLICY = ConsentPolicy.from_toml(Path(__file__).parent.parent / "examples" / "policy.toml")


def consent_id(value: str) -> str:
    return value.split(".")[-2]  # the consent id, before the signature


def no_space(self: Journal, events: object) -> None:
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.fixture
def flaky(tmp_path: Path) -> Switchable:
    return Switchable(SQLiteLedger(tmp_path / "ledger.db"))


@pytest.fixture
def shop(make_driver: DriverFactory, flaky: Switchable, tmp_path: Path) -> Driver:
    return make_driver(policy=POLICY, ledger=flaky, spool=str(tmp_path / "spool"))


def forget(driver: Driver, cookies: dict[str, str]) -> Any:
    nonce, token = driver.csrf()
    return driver.request(
        "POST",
        "/consent/forget",
        headers=[("Content-Type", "application/x-www-form-urlencoded"), ("Origin", ORIGIN)],
        cookies={**cookies, driver.csrf_name: nonce},
        body=f"csrf_token={token}".encode(),
    )


# -- acknowledged means durable ---------------------------------------------------------------


def test_a_grant_that_cannot_be_made_durable_is_not_acknowledged(
    shop: Driver, flaky: Switchable, monkeypatch: pytest.MonkeyPatch
) -> None:
    flaky.down = True
    monkeypatch.setattr(Journal, "append", no_space)
    result = shop.post_form([("action", "accept_all")])
    assert result.status == 503
    assert "could not be saved" in result.text
    assert result.header("Retry-After")
    assert result.cookie(shop.cookie_name) is None
    assert list(flaky.inner.events()) == []


def test_a_refusal_takes_effect_even_when_nothing_can_be_written(
    shop: Driver, flaky: Switchable, monkeypatch: pytest.MonkeyPatch
) -> None:
    accepted = shop.decide("accept_all")
    flaky.down = True
    monkeypatch.setattr(Journal, "append", no_space)
    refused = shop.decide("reject_all", cookies={shop.cookie_name: accepted})
    assert shop.mode(refused)["mode"] == "non_personalised"
    monkeypatch.undo()
    flaky.down = False
    deadline = time.monotonic() + 30  # recorded as soon as the store is back
    while len(flaky.inner.history(consent_id(accepted))) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    kinds = [e.kind for e in flaky.inner.history(consent_id(accepted))]
    assert kinds == ["given", "withdrawn"]


def test_a_change_that_grants_and_withdraws_keeps_only_the_withdrawal(
    shop: Driver, flaky: Switchable, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = shop.decide("save", ("analytics",))
    flaky.down = True
    monkeypatch.setattr(Journal, "append", no_space)
    result = shop.post_form(
        [("action", "save"), ("purpose", "marketing")], cookies={shop.cookie_name: first}
    )
    assert result.status == 503
    value = result.cookie(shop.cookie_name)
    assert value is not None
    granted = shop.mode(value)["granted"]
    assert "analytics" not in granted  # the withdrawal took effect
    assert "marketing" not in granted  # the grant did not


def test_with_the_ledger_down_a_grant_is_acknowledged_once_journaled(
    shop: Driver, flaky: Switchable, tmp_path: Path
) -> None:
    flaky.down = True
    value = shop.decide("accept_all")
    journals = list((tmp_path / "spool").glob("*.journal"))
    assert len(journals) == 1
    assert consent_id(value) in journals[0].read_text()


# -- erasure ----------------------------------------------------------------------------------


def test_an_erasure_that_cannot_complete_keeps_the_cookie_and_can_be_retried(
    shop: Driver, flaky: Switchable
) -> None:
    value = shop.decide("accept_all")
    flaky.erase_down = True
    failed = forget(shop, {shop.cookie_name: value})
    assert failed.status == 503
    assert "could not be erased" in failed.text
    assert consent_id(value) in failed.text  # the reference to quote to the shop
    assert 'action="/consent/forget"' in failed.text  # and a way to retry
    assert not any(c.startswith(shop.cookie_name + "=") for c in failed.set_cookies)
    assert flaky.inner.history(consent_id(value))
    flaky.erase_down = False
    done = forget(shop, {shop.cookie_name: value})
    assert done.status == 200
    assert flaky.inner.history(consent_id(value)) == []


@pytest.mark.parametrize("why", ["expired", "outdated"])
def test_erasure_finds_the_history_through_an_old_cookie(
    shop: Driver, flaky: Switchable, why: str
) -> None:
    now = int(time.time())
    cid = "old-browser-id-000001"
    flaky.inner.write([_event(cid)])
    if why == "expired":
        cookie = make_cookie(
            ("analytics",), decided_at=now - 200 * 86400, policy=POLICY, consent_id=cid
        )
    else:
        older = ConsentPolicy(POLICY.purposes, version="an-earlier-version", signals=POLICY.signals)
        cookie = make_cookie(("analytics",), decided_at=now, policy=older, consent_id=cid)
    assert shop.mode(cookie)["decided"] is False
    download = shop.get("/consent/data", cookies={shop.cookie_name: cookie}).text
    assert cid in download and '"given"' in download
    result = forget(shop, {shop.cookie_name: cookie})
    assert result.status == 200
    assert "(1 choice) was deleted" in result.text
    assert flaky.inner.history(cid) == []


def _event(cid: str, **changes: Any) -> ConsentEvent:
    values: dict[str, Any] = {
        "consent_id": cid,
        "time": time.time() - 100,
        "policy_version": "1",
        "granted": ["necessary", "analytics"],
        "refused": [],
        "method": "banner",
        "kind": "given",
        "language": "en",
    }
    values.update(changes)
    return ConsentEvent.new(**values)


# -- GPC replays ------------------------------------------------------------------------------


def test_a_replayed_cookie_with_gpc_is_recorded_once(
    make_driver: DriverFactory, tmp_path: Path
) -> None:
    ledger = SQLiteLedger(tmp_path / "ledger.db")
    cookie = make_cookie(("marketing", "analytics"), decided_at=int(time.time()), policy=POLICY)
    # Two servers on one ledger: the event id is the same in both.
    for spool in ("a", "b"):
        driver = make_driver(
            policy=POLICY, ledger=f"sqlite:///{ledger.path}", spool=str(tmp_path / spool)
        )
        for _ in range(25):
            assert "marketing" not in driver.mode(cookie, headers=[("Sec-GPC", "1")])["granted"]
    events = ledger.history("test-consent-id-0001")
    assert [(e.kind, e.method) for e in events] == [("withdrawn", "gpc")]


# -- withdrawal enforced on the server --------------------------------------------------------


def test_an_old_cookie_replayed_after_a_withdrawal_is_refused(
    make_driver: DriverFactory, tmp_path: Path
) -> None:
    ledger = f"sqlite:///{tmp_path / 'ledger.db'}"
    driver = make_driver(policy=POLICY, ledger=ledger, enforce_withdrawal=True)
    accepted = accepted_a_minute_ago()
    assert driver.mode(accepted)["mode"] == "personalised"
    refused = driver.decide("reject_all", cookies={driver.cookie_name: accepted})
    assert driver.mode(refused)["decided"] is True
    replayed = driver.mode(accepted)
    assert replayed["decided"] is False
    assert replayed["mode"] == "non_personalised"


def test_another_server_learns_of_the_withdrawal_from_the_ledger(tmp_path: Path) -> None:
    ledger = f"sqlite:///{tmp_path / 'ledger.db'}"
    apps = [
        ConsentMiddleware(
            _state_app(),
            policy=POLICY,
            secret_keys=[KEY],
            ledger=ledger,
            spool=str(tmp_path / name),
            enforce_withdrawal=True,
        )
        for name in ("a", "b")
    ]
    here, there = (Driver("asgi", asgi_sender(app), True) for app in apps)
    accepted = accepted_a_minute_ago()
    here.decide("reject_all", cookies={here.cookie_name: accepted})
    decisions = apps[1].engine.decisions
    assert decisions is not None
    decisions.refresh(apps[1].engine.recorder.ledger, now=True)  # type: ignore[union-attr]
    assert there.mode(accepted)["decided"] is False


def accepted_a_minute_ago() -> str:
    # A cookie keeps its decision time in whole seconds: a later choice is known to be
    # later once it was made in a later second.
    everything = tuple(p.id for p in POLICY.optional if not p.sensitive)
    return make_cookie(everything, decided_at=int(time.time()) - 60, policy=POLICY)


def test_without_enforcement_an_old_cookie_stays_valid_until_it_expires(
    make_driver: DriverFactory, tmp_path: Path
) -> None:
    driver = make_driver(policy=POLICY, ledger=f"sqlite:///{tmp_path / 'ledger.db'}")
    accepted = driver.decide("accept_all")
    driver.decide("reject_all", cookies={driver.cookie_name: accepted})
    assert driver.mode(accepted)["mode"] == "personalised"  # the documented limit


def test_enforcing_withdrawal_needs_a_ledger() -> None:
    with pytest.raises(ConfigurationError, match="enforce_withdrawal=True needs a ledger"):
        ConsentMiddleware(Starlette(), secret_keys=[KEY], enforce_withdrawal=True)


# -- configuration ----------------------------------------------------------------------------


def test_a_spool_beside_a_sqlite_ledger_is_warned_about(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        ConsentMiddleware(
            Starlette(),
            secret_keys=[KEY],
            ledger=f"sqlite:///{tmp_path / 'ledger.db'}",
            spool=str(tmp_path / "spool"),
        )
    assert "on the same filesystem as the SQLite ledger" in caplog.text


def test_an_unusable_spool_fails_at_start_up(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(ConfigurationError, match="spool directory .* cannot be used"):
        ConsentMiddleware(
            Starlette(),
            secret_keys=[KEY],
            ledger=f"sqlite:///{tmp_path / 'ledger.db'}",
            spool=str(tmp_path / "file" / "spool"),
        )


def test_a_spool_without_a_ledger_is_a_mistake() -> None:
    with pytest.raises(ConfigurationError, match="spool= needs a ledger"):
        ConsentMiddleware(Starlette(), secret_keys=[KEY], spool="/tmp/spool")


# -- no waiting on the event loop -------------------------------------------------------------


class Stalled:
    """A ledger that stalls every write until released, as a slow disk or database would."""

    def __init__(self, path: Path) -> None:
        self.inner = SQLiteLedger(path)
        self.entered = threading.Event()
        self.release = threading.Event()

    def write(self, events: list[ConsentEvent]) -> int:
        self.entered.set()
        self.release.wait()
        return self.inner.write(events)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def _state_app() -> Starlette:
    async def home(request: Request) -> PlainTextResponse:
        import json

        return PlainTextResponse(json.dumps(request.scope["consent"].public_state()))

    return Starlette(routes=[Route("/", home)])


@pytest.mark.parametrize("slow", ["choice", "gpc_withdrawal"])
def test_a_stalled_store_never_stalls_other_shoppers(slow: str, tmp_path: Path) -> None:
    stalled = Stalled(tmp_path / "ledger.db")
    app = ConsentMiddleware(
        _state_app(), policy=POLICY, secret_keys=[KEY], ledger=stalled, spool=str(tmp_path / "s")
    )
    safety = threading.Timer(30, stalled.release.set)  # the test cannot hang for ever
    safety.start()
    order: list[str] = []

    async def scenario() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=ORIGIN) as client:
            if slow == "choice":
                page = await client.get("/consent")
                token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
                assert token
                waiting = client.post(
                    "/consent",
                    data={"action": "accept_all", "csrf_token": token.group(1)},
                    headers={"Origin": ORIGIN},
                )
            else:
                cookie = make_cookie(("marketing",), decided_at=int(time.time()), policy=POLICY)
                waiting = client.get(
                    "/", headers={"Sec-GPC": "1", "Cookie": f"__Host-consent={cookie}"}
                )
            slow_request = asyncio.ensure_future(waiting)
            while not stalled.entered.is_set():
                await asyncio.sleep(0.01)
            other = await client.get("/")  # another shopper, while the store is stalled
            assert other.status_code == 200
            order.append("other shopper served")
            stalled.release.set()
            response = await slow_request
            assert response.status_code in (200, 303)
            order.append("stalled request answered")

    asyncio.run(scenario())
    safety.cancel()
    assert order == ["other shopper served", "stalled request answered"]
    assert app.engine.recorder is not None
    app.engine.recorder.close()
