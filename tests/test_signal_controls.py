"""Switching a signal off ("Don't use this"), forgetting one value ("Forget this item") and
switching a signal on again, through ``POST /consent/signals`` in each host app, and what the
ledger, the download and the preference centre make of them."""

from __future__ import annotations

import errno
import json
import random
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from consent_middleware import ConsentPolicy, SignalStopped
from consent_middleware.core.codec import ConsentState
from consent_middleware.core.context import PersonalisationContext
from consent_middleware.core.stops import StopCodec
from consent_middleware.ledger.events import ConsentEvent
from consent_middleware.ledger.journal import Journal
from consent_middleware.ledger.sqlite import SQLiteLedger
from consent_middleware.web.engine import ConsentEngine

from .conftest import KEY, ORIGIN, DriverFactory, Result
from .ledgers import Switchable

POLICY = ConsentPolicy.from_toml(Path(__file__).parent.parent / "examples" / "policy.toml")
SIGNALS = "__Host-consent_signals"
VISIT = "__Host-consent_visit"


class Shop:
    """A driver over a ledger that can be made to fail, and a browser's cookies."""

    def __init__(self, make_driver: DriverFactory, tmp_path: Path) -> None:
        self.ledger = Switchable(SQLiteLedger(tmp_path / "ledger.db"))
        self.driver = make_driver(policy=POLICY, ledger=self.ledger, spool=str(tmp_path / "s"))
        self.cookies: dict[str, str] = {}

    def decide(self, *purposes: str) -> str:
        value = self.driver.decide("save", purposes)
        self.cookies[self.driver.cookie_name] = value
        return value.split(".")[-2]  # the consent id, before the signature

    def get(self, path: str) -> Result:
        result = self.driver.get(path, cookies=self.cookies)
        self.keep(result)
        return result

    def keep(self, result: Result) -> None:
        for line in result.set_cookies:
            name, _, rest = line.partition("=")
            value = rest.partition(";")[0]
            if "Max-Age=0" in line:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value

    def post(
        self,
        fields: list[tuple[str, str]],
        *,
        path: str = "/consent/signals",
        token: bool = True,
        origin: str = ORIGIN,
        content_type: str = "application/x-www-form-urlencoded",
    ) -> Result:
        cookies = dict(self.cookies)
        if token:
            nonce, csrf_token = self.driver.csrf()
            cookies[self.driver.csrf_name] = nonce
            fields = [*fields, ("csrf_token", csrf_token)]
        result = self.driver.request(
            "POST",
            path,
            headers=[("Content-Type", content_type), ("Origin", origin)],
            cookies=cookies,
            body=urlencode(fields).encode(),
        )
        self.keep(result)
        return result

    def events(self, consent_id: str, count: int) -> list[ConsentEvent]:
        deadline = time.monotonic() + 10
        while len(self.ledger.inner.history(consent_id)) < count:
            assert time.monotonic() < deadline, self.ledger.inner.history(consent_id)
            time.sleep(0.01)
        return self.ledger.inner.history(consent_id)


@pytest.fixture
def shop(make_driver: DriverFactory, tmp_path: Path) -> Shop:
    return Shop(make_driver, tmp_path)


def test_dont_use_this_clears_the_signal_and_refuses_it_until_resumed(shop: Shop) -> None:
    consent_id = shop.decide("session_personalisation")
    shop.get("/view/green-tea")
    shop.get("/view/teapot")
    assert json.loads(shop.get("/visit").text) == ["teapot", "green-tea"]
    stop = [("action", "stop"), ("signal", "viewed_products"), ("method", "why")]
    result = shop.post([*stop, ("next", "/products/mug?size=2")])
    assert result.status == 303
    assert result.header("location") == "/products/mug?size=2"
    assert SIGNALS in shop.cookies
    assert VISIT not in shop.cookies  # the values went with it
    assert any(c.startswith(f"{SIGNALS}=") and "Max-Age=15552000" in c for c in result.set_cookies)
    refused = shop.get("/visit")
    assert (refused.status, json.loads(refused.text)) == (
        403,
        {"refused": "session_personalisation"},
    )
    # Viewing more adds nothing while the signal is off.
    assert shop.get("/view/mug").status == 403
    assert json.loads(shop.get("/").text)["mode"] == "session"
    resumed = shop.post([("action", "resume"), ("signal", "viewed_products")])
    assert resumed.status == 303 and resumed.header("location") == "/"
    assert SIGNALS not in shop.cookies
    shop.get("/view/mug")
    assert json.loads(shop.get("/visit").text) == ["mug"]
    events = shop.events(consent_id, 3)
    assert [(e.kind, e.method, e.signal) for e in events] == [
        ("given", "api", ""),
        ("stopped", "why", "viewed_products"),
        ("resumed", "api", "viewed_products"),
    ]
    assert events[1].granted == events[0].granted


def test_forget_this_item_removes_one_value_and_never_records_it(shop: Shop) -> None:
    consent_id = shop.decide("session_personalisation")
    shop.get("/view/secret-item")
    shop.get("/view/teapot")
    result = shop.post(
        [("action", "forget"), ("signal", "viewed_products"), ("value", "secret-item")]
    )
    assert result.status == 303
    assert json.loads(shop.get("/visit").text) == ["teapot"]
    assert SIGNALS not in shop.cookies  # forgetting one value stops nothing
    events = shop.events(consent_id, 2)
    assert [(e.kind, e.signal) for e in events] == [("given", ""), ("forgotten", "viewed_products")]
    assert "secret-item" not in json.dumps([e.to_json() for e in events])
    stored = Path(shop.ledger.inner.path)
    wal = stored.with_name(stored.name + "-wal")
    raw = stored.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
    assert b"viewed_products" in raw  # the check reads where the events are
    assert b"secret-item" not in raw


def test_the_download_and_the_preference_centre_show_the_choices(shop: Shop) -> None:
    shop.decide("session_personalisation")
    shop.post([("action", "stop"), ("signal", "viewed_products"), ("method", "why")])
    shop.events(shop.cookies[shop.driver.cookie_name].split(".")[-2], 2)
    data = json.loads(shop.get("/consent/data").text)
    assert data["stopped_signals"] == ["viewed_products"]
    assert [(h["kind"], h.get("signal")) for h in data["history"]] == [
        ("given", None),
        ("stopped", "viewed_products"),
    ]
    page = shop.get("/consent").text
    assert "What you switched off" in page
    assert "(switched off by you)" in page
    assert '<input type="hidden" name="signal" value="viewed_products">' in page
    assert 'name="action" value="resume"' in page


@pytest.mark.parametrize(
    ("fields", "options", "status"),
    [
        pytest.param([("action", "stop")], {}, 400, id="no-signal"),
        pytest.param([("action", "stop"), ("signal", "nope")], {}, 400, id="unknown-signal"),
        pytest.param([("action", "pause"), ("signal", "viewed_products")], {}, 400, id="action"),
        pytest.param([("action", "forget"), ("signal", "viewed_products")], {}, 400, id="no-value"),
        pytest.param([("action", "stop"), ("signal", "viewed_products")], {"token": False}, 403),
        pytest.param(
            [("action", "stop"), ("signal", "viewed_products")],
            {"origin": "https://evil.example"},
            403,
            id="other-origin",
        ),
        pytest.param(
            [("action", "stop"), ("signal", "viewed_products")],
            {"content_type": "application/json"},
            415,
            id="json",
        ),
    ],
)
def test_a_bad_request_is_refused_and_changes_nothing(
    shop: Shop, fields: list[tuple[str, str]], options: dict[str, Any], status: int
) -> None:
    shop.decide("session_personalisation")
    before = dict(shop.cookies)
    result = shop.post(fields, **options)
    assert result.status == status
    assert shop.cookies == before
    assert "Nothing was changed." in result.text


def test_without_a_decision_there_is_nothing_to_switch_off(shop: Shop) -> None:
    result = shop.post([("action", "stop"), ("signal", "viewed_products")])
    assert result.status == 409
    assert result.set_cookies == []


def test_only_post_is_answered(shop: Shop) -> None:
    result = shop.get("/consent/signals")
    assert result.status == 405
    assert result.header("allow") == "POST"


def test_next_must_stay_on_this_site(shop: Shop) -> None:
    shop.decide("session_personalisation")
    result = shop.post(
        [("action", "stop"), ("signal", "viewed_products"), ("next", "//evil.example/x")]
    )
    assert result.header("location") == "/"


def test_a_stop_takes_effect_when_nothing_can_be_written_and_a_resume_waits(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop.decide("session_personalisation")
    shop.ledger.down = True

    def no_space(self: Journal, events: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Journal, "append", no_space)
    stopped = shop.post([("action", "stop"), ("signal", "viewed_products")])
    assert stopped.status == 303
    assert SIGNALS in shop.cookies
    before = dict(shop.cookies)
    resumed = shop.post([("action", "resume"), ("signal", "viewed_products")])
    assert resumed.status == 503
    assert resumed.header("retry-after") == "5"
    assert shop.cookies == before  # still off: switching on again was not saved


def test_the_stop_cookie_is_bound_to_its_consent() -> None:
    codec = StopCodec(POLICY, [KEY.encode()])
    value = codec.encode(["viewed_products", "not_declared"], "consent-one")
    assert value is not None
    assert codec.decode(value, "consent-one") == {"viewed_products"}
    assert codec.decode(value, "consent-two") == frozenset()
    assert codec.decode(value[:-2] + "AA", "consent-one") == frozenset()
    assert codec.decode("garbage", "consent-one") == frozenset()
    assert codec.encode([], "consent-one") is None


def test_a_stopped_signal_is_refused_by_every_reader() -> None:
    engine = ConsentEngine(policy=POLICY, secret_keys=[KEY])
    state = ConsentState("c" * 22, POLICY.grant(["personalisation"]), int(time.time()))
    value = engine.stops.encode(["viewed_products"], state.consent_id)
    header = f"{SIGNALS}={value}"
    ctx = PersonalisationContext(POLICY, state, False, engine, header, "/consent", "/")
    assert ctx.stopped_signals == {"viewed_products"}
    assert ctx.may_use("viewed_products") is False
    assert ctx.may_use("favourite_categories") is True
    with pytest.raises(SignalStopped) as refused:
        ctx.reason("viewed_products")
    assert (refused.value.signal, refused.value.purpose) == (
        "viewed_products",
        "session_personalisation",
    )
    with pytest.raises(SignalStopped):
        ctx.visit.get("viewed_products")
    with pytest.raises(SignalStopped):
        ctx.visit.add("viewed_products", "tea")
    # Sent twice, the cookie is not trusted: nothing is stopped (nor allowed by it).
    twice = PersonalisationContext(POLICY, state, False, engine, f"{header}; {header}", "/c", "/")
    assert twice.stopped_signals == frozenset()


def test_random_forms_with_a_valid_token_never_get_a_5xx(shop: Shop) -> None:
    """Whatever fields a shopper's own browser sends (repeated, empty, not UTF-8, huge), the
    controls answer with a 303 or a 4xx."""
    rng = random.Random(14)
    shop.decide("personalisation", "marketing")
    names = ["action", "signal", "value", "next", "answer", "kind", "method", "x"]
    values = [
        "stop",
        "forget",
        "resume",
        "pause",
        "helpful",
        "too_personal",
        "personal",
        "general",
        "viewed_products",
        "favourite_categories",
        "",
        "\x00",
        "\udcff",
        "é" * 300,
        "%",
        "//a",
    ]
    for _ in range(120):
        fields = [(rng.choice(names), rng.choice(values)) for _ in range(rng.randrange(8))]
        path = rng.choice(["/consent/signals", "/consent/pause", "/consent/feedback"])
        body = urlencode(fields, errors="surrogatepass").encode("utf-8", "surrogatepass")
        nonce, token = shop.driver.csrf()
        result = shop.driver.request(
            "POST",
            path,
            headers=[("Content-Type", "application/x-www-form-urlencoded"), ("Origin", ORIGIN)],
            cookies={**shop.cookies, shop.driver.csrf_name: nonce},
            body=body + f"&csrf_token={token}".encode(),
        )
        assert result.status == 303 or 400 <= result.status < 500, (path, fields, result.text)
