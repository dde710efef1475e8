"""The visit and preference stores and the cache headers, through real requests to each
host app; then the store codec itself (expiry, malformed data, size)."""

from __future__ import annotations

import base64
import binascii
import contextlib
import dataclasses
import hashlib
import json
import re
import time
import zlib
from datetime import timedelta
from pathlib import Path

import pytest
from itsdangerous import URLSafeSerializer

import consent_middleware.core.context as context_module
import consent_middleware.web.engine as engine_module
from consent_middleware import ConsentPolicy, Signal, SignalScope
from consent_middleware.core.cookies import find_all_cookies
from consent_middleware.core.stores import (
    MAX_ENCODED_BYTES,
    MemoryPreferenceBackend,
    StoreCodec,
    fits,
)
from consent_middleware.web.engine import ConsentEngine
from consent_middleware.web.messages import RequestInfo

from .conftest import KEY, OLD_KEY, Driver, DriverFactory, make_cookie

POLICY = ConsentPolicy.from_toml(Path(__file__).parent.parent / "examples" / "policy.toml")
NOW = int(time.time())
DAY = 24 * 3600
HOUR = 3600
OTHER_ID = "other-consent-id-0002"
# Stated categories are kept 90 days, in a cookie that lives 365 days for past orders.
SHORT = ConsentPolicy(
    POLICY.purposes,
    version=POLICY.version,
    consent_lifetime=POLICY.consent_lifetime,
    signals=[
        *(s for s in POLICY.signals if s.id != "favourite_categories"),
        dataclasses.replace(POLICY.signal("favourite_categories"), retention=timedelta(days=90)),
        Signal(
            "past_orders",
            "Your earlier orders",
            "personalisation",
            scope=SignalScope.PERSISTENT,
            retention=timedelta(days=365),
        ),
    ],
)


class Clock:
    """The time the middleware reads, moved by hand."""

    def __init__(self) -> None:
        self.now = float(NOW)

    def time(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(engine_module, "time", clock)
    return clock


@pytest.fixture
def shop(make_driver: DriverFactory) -> Driver:
    return make_driver(policy=POLICY)


def consent(*granted: str, policy: ConsentPolicy = POLICY, consent_id: str | None = None) -> str:
    if consent_id is None:
        return make_cookie(granted, decided_at=NOW, policy=policy)
    return make_cookie(granted, decided_at=NOW, policy=policy, consent_id=consent_id)


def cookies_of(driver: Driver, granted: tuple[str, ...], **others: str) -> dict[str, str]:
    return {driver.cookie_name: consent(*granted), **others}


def readable(value: str) -> bytes:
    """Whatever base64 (and zlib) decoding shows of a cookie value's parts."""
    shown = b""
    for part in value.split("."):
        try:
            decoded = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        except (binascii.Error, ValueError):
            continue
        shown += decoded
        with contextlib.suppress(zlib.error):
            shown += zlib.decompress(decoded)
    return shown


# -- the visit --------------------------------------------------------------------------


def test_guest_visit_is_a_session_cookie_without_identifier(shop: Driver) -> None:
    guest = ("session_personalisation",)
    stored = shop.get("/view/green-tea", cookies=cookies_of(shop, guest))
    assert stored.status == 200
    line = next(c for c in stored.set_cookies if c.startswith("__Host-consent_visit="))
    assert re.fullmatch(
        r"__Host-consent_visit=[A-Za-z0-9._-]+; Path=/; HttpOnly; SameSite=Lax; Secure", line
    ), line
    visit = stored.cookie("__Host-consent_visit")
    assert visit
    assert "test-consent-id" not in visit
    seen = shop.get("/visit", cookies=cookies_of(shop, guest, **{"__Host-consent_visit": visit}))
    assert json.loads(seen.text) == ["green-tea"]
    assert seen.header("cache-control") == "private"
    assert seen.header("vary") == "Cookie"


def test_visit_keeps_the_newest_values_first_without_repeats(shop: Driver) -> None:
    guest = cookies_of(shop, ("session_personalisation",))
    for slug in ["a", "b", "a", "c"]:
        result = shop.get(f"/view/{slug}", cookies=guest)
        guest["__Host-consent_visit"] = result.cookie("__Host-consent_visit") or ""
    assert json.loads(shop.get("/visit", cookies=guest).text) == ["c", "a", "b"]


def test_visit_stays_small(shop: Driver) -> None:
    guest = cookies_of(shop, ("session_personalisation",))
    for i in range(40):
        result = shop.get(f"/view/{'x' * 150}-{i}", cookies=guest)
        guest["__Host-consent_visit"] = result.cookie("__Host-consent_visit") or ""
    assert len(guest["__Host-consent_visit"]) < 4096
    values = json.loads(shop.get("/visit", cookies=guest).text)
    assert 0 < len(values) <= 20
    assert values[0].endswith("-39")


@pytest.mark.parametrize(
    "granted",
    [pytest.param((), id="rejected"), pytest.param(("analytics", "marketing"), id="no-personal")],
)
def test_visit_is_neither_written_nor_read_without_consent(
    shop: Driver, granted: tuple[str, ...]
) -> None:
    result = shop.get("/view/green-tea", cookies=cookies_of(shop, granted))
    assert result.status == 403
    assert json.loads(result.text) == {"refused": "session_personalisation"}
    assert result.set_cookies == []
    read = shop.get("/visit", cookies=cookies_of(shop, granted))
    assert read.status == 403


def test_undecided_visitor_stores_nothing(shop: Driver) -> None:
    result = shop.get("/view/green-tea")
    assert result.status == 403
    assert result.set_cookies == []


def test_tampered_visit_cookie_reads_as_empty(shop: Driver) -> None:
    guest = cookies_of(shop, ("session_personalisation",))
    stored = shop.get("/view/green-tea", cookies=guest).cookie("__Host-consent_visit") or ""
    tampered = stored[:-3] + ("AAA" if not stored.endswith("AAA") else "BBB")
    guest["__Host-consent_visit"] = tampered
    assert json.loads(shop.get("/visit", cookies=guest).text) == []


VISIT = "__Host-consent_visit"
PREFS = "__Host-consent_prefs"
GUEST = ("session_personalisation",)


def _deletes(result_cookies: list[str], name: str) -> bool:
    return any(c.startswith(f"{name}=;") and "Max-Age=0" in c for c in result_cookies)


def test_visit_cookie_does_not_show_what_was_viewed(shop: Driver) -> None:
    visit = shop.get("/view/pregnancy-test", cookies=cookies_of(shop, GUEST)).cookie(VISIT)
    assert visit and visit.startswith("1.")
    assert b"pregnancy" not in readable(visit)
    assert b"viewed_products" not in readable(visit)


def test_visit_is_forgotten_after_the_visit_lifetime(shop: Driver, clock: Clock) -> None:
    guest = cookies_of(shop, GUEST)
    guest[VISIT] = shop.get("/view/green-tea", cookies=guest).cookie(VISIT) or ""
    clock.advance(4 * HOUR - 1)
    assert json.loads(shop.get("/visit", cookies=guest).text) == ["green-tea"]
    clock.advance(2)
    late = shop.get("/visit", cookies=guest)
    assert late.status == 200
    assert json.loads(late.text) == []
    assert _deletes(late.set_cookies, VISIT)


def test_visit_replayed_months_later_reads_as_empty(shop: Driver, clock: Clock) -> None:
    guest = cookies_of(shop, GUEST)
    guest[VISIT] = shop.get("/view/green-tea", cookies=guest).cookie(VISIT) or ""
    clock.advance(150 * DAY)
    assert shop.mode(guest[shop.cookie_name])["mode"] == "session"
    assert json.loads(shop.get("/visit", cookies=guest).text) == []


def test_each_visit_value_lasts_from_when_it_was_written(shop: Driver, clock: Clock) -> None:
    guest = cookies_of(shop, GUEST)
    guest[VISIT] = shop.get("/view/early", cookies=guest).cookie(VISIT) or ""
    clock.advance(3 * HOUR)
    guest[VISIT] = shop.get("/view/later", cookies=guest).cookie(VISIT) or ""
    clock.advance(2 * HOUR)
    assert json.loads(shop.get("/visit", cookies=guest).text) == ["later"]


@pytest.mark.parametrize(
    "lifetime",
    [pytest.param(timedelta(minutes=30), id="timedelta"), pytest.param(1800, id="seconds")],
)
def test_visit_lifetime_is_an_option(
    make_driver: DriverFactory, clock: Clock, lifetime: timedelta | int
) -> None:
    shop = make_driver(policy=POLICY, visit_lifetime=lifetime)
    guest = cookies_of(shop, GUEST)
    guest[VISIT] = shop.get("/view/green-tea", cookies=guest).cookie(VISIT) or ""
    clock.advance(29 * 60)
    assert json.loads(shop.get("/visit", cookies=guest).text) == ["green-tea"]
    clock.advance(2 * 60)
    assert json.loads(shop.get("/visit", cookies=guest).text) == []


def test_visit_cookie_in_another_browser_reads_as_empty(shop: Driver) -> None:
    visit = shop.get("/view/green-tea", cookies=cookies_of(shop, GUEST)).cookie(VISIT) or ""
    elsewhere = {shop.cookie_name: consent(*GUEST, consent_id=OTHER_ID), VISIT: visit}
    assert json.loads(shop.get("/visit", cookies=elsewhere).text) == []


def test_visit_cookie_as_a_preference_cookie_reads_as_empty(shop: Driver) -> None:
    personal = cookies_of(shop, ("personalisation",))
    visit = shop.get("/view/tea", cookies=personal).cookie(VISIT) or ""
    assert json.loads(shop.get("/prefs", cookies={**personal, PREFS: visit}).text) == []


def test_visit_cookie_of_the_signed_format_reads_as_empty(shop: Driver) -> None:
    # As the stores were written before they were encrypted.
    serializer = URLSafeSerializer(
        KEY,
        salt="consent_middleware.session",
        signer_kwargs={"key_derivation": "hmac", "digest_method": hashlib.sha256},
    )
    signed = serializer.dumps({"viewed_products": ["green-tea"]})
    guest = cookies_of(shop, GUEST, **{VISIT: signed})
    assert json.loads(shop.get("/visit", cookies=guest).text) == []


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("garbage", id="garbage"),
        pytest.param("1.", id="format-only"),
        pytest.param("1.AAAA", id="too-short"),
        pytest.param("1.%%%%", id="not-base64"),
        pytest.param("1." + "A" * 4100, id="oversized"),
        pytest.param('"1.abc"', id="quoted"),
    ],
)
def test_hostile_store_cookies_read_as_empty(shop: Driver, value: str) -> None:
    personal = cookies_of(shop, ("personalisation",), **{VISIT: value, PREFS: value})
    visit = shop.get("/visit", cookies=personal)
    assert visit.status == 200
    assert json.loads(visit.text) == []
    prefs = shop.get("/prefs", cookies=personal)
    assert prefs.status == 200
    assert json.loads(prefs.text) == []


def test_store_cookies_rotate_with_the_secret_keys(make_driver: DriverFactory) -> None:
    old = make_driver(policy=POLICY, secret_keys=[OLD_KEY])
    rotated = make_driver(policy=POLICY, secret_keys=[KEY, OLD_KEY])
    new_only = make_driver(policy=POLICY, secret_keys=[KEY])
    old_consent = make_cookie(GUEST, decided_at=NOW, policy=POLICY, keys=[OLD_KEY])
    guest = {old.cookie_name: old_consent}
    guest[VISIT] = old.get("/view/green-tea", cookies=guest).cookie(VISIT) or ""
    assert json.loads(rotated.get("/visit", cookies=guest).text) == ["green-tea"]
    renewed = cookies_of(new_only, GUEST, **{VISIT: guest[VISIT]})
    assert json.loads(new_only.get("/visit", cookies=renewed).text) == []


# -- preferences ------------------------------------------------------------------------


def test_preferences_need_personalisation(shop: Driver) -> None:
    guest = cookies_of(shop, ("session_personalisation",))
    result = shop.get("/prefs/set?c=tea", cookies=guest)
    assert result.status == 403
    assert json.loads(result.text) == {"refused": "personalisation"}
    assert result.set_cookies == []


def test_preferences_in_a_persistent_cookie(shop: Driver) -> None:
    personal = cookies_of(shop, ("personalisation",))
    stored = shop.get("/prefs/set?c=tea&c=books", cookies=personal)
    line = next(c for c in stored.set_cookies if c.startswith("__Host-consent_prefs="))
    assert "; Max-Age=31536000;" in line
    personal["__Host-consent_prefs"] = stored.cookie("__Host-consent_prefs") or ""
    assert json.loads(shop.get("/prefs", cookies=personal).text) == ["tea", "books"]
    recommended = shop.get("/recommend", cookies=personal)
    assert json.loads(recommended.text) == {
        "text": "You like ['tea', 'books']",
        "personal": True,
    }


def test_preferences_in_a_backend(make_driver: DriverFactory, clock: Clock) -> None:
    backend = MemoryPreferenceBackend()
    shop = make_driver(policy=POLICY, preference_backend=backend)
    personal = cookies_of(shop, ("personalisation",))
    stored = shop.get("/prefs/set?c=garden", cookies=personal)
    assert stored.set_cookies == []
    assert backend.load("test-consent-id-0001") == {
        "favourite_categories": ["garden"],
        "favourite_categories@written": [str(NOW)],
    }
    assert json.loads(shop.get("/prefs", cookies=personal).text) == ["garden"]
    withdrawn = shop.post_form([("action", "save")], cookies=personal)
    assert withdrawn.status == 303
    assert backend.load("test-consent-id-0001") == {}


def test_preference_cookie_does_not_show_the_preferences(shop: Driver) -> None:
    personal = cookies_of(shop, ("personalisation",))
    prefs = shop.get("/prefs/set?c=Garden", cookies=personal).cookie(PREFS)
    assert prefs and prefs.startswith("1.")
    assert b"Garden" not in readable(prefs)


def test_preference_cookie_in_another_browser_reads_as_empty(shop: Driver) -> None:
    personal = cookies_of(shop, ("personalisation",))
    prefs = shop.get("/prefs/set?c=tea", cookies=personal).cookie(PREFS) or ""
    elsewhere = {shop.cookie_name: consent("personalisation", consent_id=OTHER_ID), PREFS: prefs}
    assert json.loads(shop.get("/prefs", cookies=elsewhere).text) == []


def test_preferences_are_dropped_after_their_retention(
    make_driver: DriverFactory, clock: Clock
) -> None:
    shop = make_driver(policy=SHORT)
    personal = {shop.cookie_name: consent("personalisation", policy=SHORT)}
    stored = shop.get("/prefs/set?c=tea", cookies=personal)
    line = next(c for c in stored.set_cookies if c.startswith(f"{PREFS}="))
    # The cookie lives as long as the longest retention (past orders), not the categories'.
    assert "; Max-Age=31536000;" in line
    personal[PREFS] = stored.cookie(PREFS) or ""
    clock.advance(89 * DAY)
    assert json.loads(shop.get("/prefs", cookies=personal).text) == ["tea"]
    clock.advance(90 * DAY)
    late = shop.get("/prefs", cookies=personal)
    assert late.status == 200
    assert json.loads(late.text) == []
    assert _deletes(late.set_cookies, PREFS)


def test_preferences_in_a_backend_are_dropped_after_their_retention(
    make_driver: DriverFactory, clock: Clock
) -> None:
    backend = MemoryPreferenceBackend()
    shop = make_driver(policy=SHORT, preference_backend=backend)
    personal = {shop.cookie_name: consent("personalisation", policy=SHORT)}
    shop.get("/prefs/set?c=tea", cookies=personal)
    clock.advance(89 * DAY)
    assert json.loads(shop.get("/prefs", cookies=personal).text) == ["tea"]
    clock.advance(90 * DAY)
    assert json.loads(shop.get("/prefs", cookies=personal).text) == []
    assert backend.load("test-consent-id-0001") == {}


def test_preferences_in_a_backend_without_write_times_read_as_expired(
    make_driver: DriverFactory,
) -> None:
    backend = MemoryPreferenceBackend()
    backend.save("test-consent-id-0001", {"favourite_categories": ["Garden"]})
    shop = make_driver(policy=POLICY, preference_backend=backend)
    personal = cookies_of(shop, ("personalisation",))
    assert json.loads(shop.get("/prefs", cookies=personal).text) == []


# -- withdrawal clears the stores ---------------------------------------------------------


def _stored(shop: Driver) -> dict[str, str]:
    personal = cookies_of(shop, ("personalisation",))
    visit = shop.get("/view/tea", cookies=personal).cookie("__Host-consent_visit")
    prefs = shop.get("/prefs/set?c=tea", cookies=personal).cookie("__Host-consent_prefs")
    assert visit and prefs
    return {**personal, "__Host-consent_visit": visit, "__Host-consent_prefs": prefs}


def _deleted(result_cookies: list[str]) -> set[str]:
    return {c.partition("=")[0] for c in result_cookies if "Max-Age=0" in c}


def test_rejecting_all_deletes_visit_and_preferences(shop: Driver) -> None:
    result = shop.post_form([("action", "reject_all")], cookies=_stored(shop))
    assert _deleted(result.set_cookies) == {"__Host-consent_visit", "__Host-consent_prefs"}


def test_stepping_down_to_guest_mode_keeps_the_visit_only(shop: Driver) -> None:
    result = shop.post_form(
        [("action", "save"), ("purpose", "session_personalisation")], cookies=_stored(shop)
    )
    assert _deleted(result.set_cookies) == {"__Host-consent_prefs"}


def test_keeping_everything_deletes_nothing(shop: Driver) -> None:
    result = shop.post_form(
        [("action", "save"), ("purpose", "personalisation")], cookies=_stored(shop)
    )
    assert _deleted(result.set_cookies) == set()


def test_a_new_choice_deletes_store_cookies_it_cannot_read(shop: Driver) -> None:
    stored = _stored(shop)
    elsewhere = {**stored, shop.cookie_name: consent("personalisation", consent_id=OTHER_ID)}
    result = shop.post_form([("action", "save"), ("purpose", "personalisation")], cookies=elsewhere)
    assert _deleted(result.set_cookies) == {VISIT, PREFS}


# -- cache headers ------------------------------------------------------------------------


def test_personal_response_is_private_and_keeps_the_apps_other_directives(shop: Driver) -> None:
    personal = _stored(shop)
    result = shop.get("/recommend", cookies=personal)
    assert json.loads(result.text)["personal"] is True
    assert result.header("cache-control") == "private, max-age=60"
    assert result.header("vary") == "Accept-Encoding, Cookie"


def test_general_response_varies_but_stays_cacheable(shop: Driver) -> None:
    result = shop.get("/recommend")
    assert json.loads(result.text)["personal"] is False
    assert result.header("cache-control") == "public, max-age=60"
    assert result.header("vary") == "Accept-Encoding, Cookie"


def test_the_cookie_header_is_parsed_once_for_both_stores(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    parsed: list[str] = []

    def counting(header: str) -> dict[str, list[str]]:
        parsed.append(header)
        return find_all_cookies(header)

    monkeypatch.setattr(context_module, "find_all_cookies", counting)
    engine = ConsentEngine(policy=POLICY, secret_keys=[KEY])
    header = f"__Host-consent={consent('personalisation')}; a=1"
    ctx = engine.read(RequestInfo(cookie_header=header))
    ctx.visit.add("viewed_products", "tea")
    ctx.preferences.set("favourite_categories", ["tea"])
    engine.response_headers(ctx)
    assert parsed == [header]


def test_response_that_never_consulted_consent_is_untouched(shop: Driver) -> None:
    result = shop.get("/plain", cookies=_stored(shop))
    assert result.header("cache-control") == "public, max-age=60"
    assert result.header("vary") is None
    assert result.set_cookies == []


# -- the codec --------------------------------------------------------------------------

SEARCHES = Signal(
    "search_terms",
    "What you searched for in this visit",
    "session_personalisation",
    retention=timedelta(minutes=30),
)
VISIT_POLICY = ConsentPolicy(
    POLICY.purposes, version="visit", signals=[POLICY.signal("viewed_products"), SEARCHES]
)
CONSENT_ID = "test-consent-id-0001"


def test_a_visit_keeps_each_signal_for_its_own_retention() -> None:
    codec = StoreCodec(
        VISIT_POLICY, [KEY.encode()], SignalScope.SESSION, lifetime=timedelta(hours=4)
    )
    data = {"viewed_products": [("tea", NOW)], "search_terms": [("mint", NOW)]}
    value = codec.encode(data, CONSENT_ID)
    assert codec.decode(value, CONSENT_ID, NOW + 29 * 60) == (data, False)
    assert codec.decode(value, CONSENT_ID, NOW + 31 * 60) == (
        {"viewed_products": [("tea", NOW)]},
        True,
    )
    assert codec.decode(value, CONSENT_ID, NOW + 4 * HOUR) == ({}, True)


def test_a_signal_without_retention_lives_as_long_as_its_store() -> None:
    codec = StoreCodec(VISIT_POLICY, [KEY.encode()], SignalScope.SESSION)
    data = {"viewed_products": [("tea", NOW)]}
    later = NOW + 400 * DAY
    assert codec.decode(codec.encode(data, CONSENT_ID), CONSENT_ID, later) == (data, False)


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param([], id="list"),
        pytest.param("viewed_products", id="text"),
        pytest.param({"viewed_products": "tea", "viewed_products@written": "1"}, id="strings"),
        pytest.param({"viewed_products": ["tea"]}, id="no-times"),
        pytest.param({"viewed_products@written": [str(NOW)]}, id="times-only"),
        pytest.param(
            {"viewed_products": ["tea", "mint"], "viewed_products@written": [str(NOW)]},
            id="fewer-times",
        ),
        pytest.param({"viewed_products": ["tea"], "viewed_products@written": [NOW]}, id="int"),
        pytest.param(
            {"viewed_products": ["tea"], "viewed_products@written": ["-1"]}, id="negative"
        ),
        pytest.param(
            {"viewed_products": ["tea"], "viewed_products@written": [str(NOW + HOUR)]},
            id="future",
        ),
        pytest.param(
            {"viewed_products": ["x" * 201], "viewed_products@written": [str(NOW)]},
            id="too-long",
        ),
        pytest.param(
            {"favourite_categories": ["Tea"], "favourite_categories@written": [str(NOW)]},
            id="other-scope",
        ),
        pytest.param({"unknown": ["tea"], "unknown@written": [str(NOW)]}, id="undeclared"),
    ],
)
def test_invalid_stored_data_is_dropped(raw: object) -> None:
    codec = StoreCodec(POLICY, [KEY.encode()], SignalScope.SESSION, lifetime=timedelta(hours=4))
    assert codec.unpack(raw, NOW) == ({}, True)


def test_a_full_store_stays_under_4096_bytes() -> None:
    signals = [
        Signal(
            f"seen_{n}",
            f"Seen {n}",
            "personalisation",
            scope=SignalScope.PERSISTENT,
            retention=timedelta(days=30),
        )
        for n in range(3)
    ]
    policy = ConsentPolicy(POLICY.purposes, version="full", signals=signals)
    engine = ConsentEngine(policy=policy, secret_keys=[KEY])
    consent_cookie = f"__Host-consent={consent('personalisation', policy=policy)}"
    header = consent_cookie
    codec = StoreCodec(policy, [KEY.encode()], SignalScope.PERSISTENT)
    for signal in signals:
        for n in range(30):
            ctx = engine.read(RequestInfo(cookie_header=header))
            # Escaped in JSON, each "é" takes six bytes.
            ctx.preferences.add(signal.id, f"{n:02d}" + ("é" if n % 2 else "x") * 198)
            data = ctx.preferences.entries()
            assert fits(data)
            assert len(codec.encode(data, CONSENT_ID)) <= MAX_ENCODED_BYTES
            (line,) = engine.response_headers(ctx).cookies
            assert line.startswith(f"{PREFS}=")
            assert len(line) < 4096
            header = f"{consent_cookie}; {line.partition(';')[0]}"
    kept = engine.read(RequestInfo(cookie_header=header)).preferences.get(signals[0].id)
    assert kept and kept[0].startswith("29")


PER_BROWSER_READS = [
    "csrf_token",
    "csrf_nonce",
    "consent_id",
    "public_state",
    "visit_export",
    "preferences_export",
]


@pytest.mark.parametrize("read", PER_BROWSER_READS)
def test_a_page_showing_any_per_browser_value_is_private(shop: Driver, read: str) -> None:
    """Even with nothing to write (the CSRF cookie exists, no store changes), a page built
    with a value of this browser's own never reaches a shared cache."""
    nonce, _ = shop.csrf()
    cookies = {**_stored(shop), shop.csrf_name: nonce}
    result = shop.get(f"/per-browser?read={read}", cookies=cookies)
    assert result.status == 200
    assert result.set_cookies == []
    assert json.loads(result.text) not in (None, {}, "")
    assert result.header("cache-control") == "private, max-age=60"
    assert result.header("vary") == "Cookie"
