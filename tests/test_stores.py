"""The visit and preference stores and the cache headers, through real requests to each
host app."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from consent_middleware import ConsentPolicy
from consent_middleware.stores import MemoryPreferenceBackend

from .conftest import Driver, DriverFactory, make_cookie

POLICY = ConsentPolicy.from_toml(Path(__file__).parent.parent / "examples" / "policy.toml")
NOW = int(time.time())


@pytest.fixture
def shop(make_driver: DriverFactory) -> Driver:
    return make_driver(policy=POLICY)


def consent(*granted: str) -> str:
    return make_cookie(granted, decided_at=NOW, policy=POLICY)


def cookies_of(driver: Driver, granted: tuple[str, ...], **others: str) -> dict[str, str]:
    return {driver.cookie_name: consent(*granted), **others}


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


def test_preferences_in_a_backend(make_driver: DriverFactory) -> None:
    backend = MemoryPreferenceBackend()
    shop = make_driver(policy=POLICY, preference_backend=backend)
    personal = cookies_of(shop, ("personalisation",))
    stored = shop.get("/prefs/set?c=garden", cookies=personal)
    assert stored.set_cookies == []
    assert backend.load("test-consent-id-0001") == {"favourite_categories": ["garden"]}
    assert json.loads(shop.get("/prefs", cookies=personal).text) == ["garden"]
    withdrawn = shop.post_form([("action", "save")], cookies=personal)
    assert withdrawn.status == 303
    assert backend.load("test-consent-id-0001") == {}


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


def test_response_that_never_consulted_consent_is_untouched(shop: Driver) -> None:
    result = shop.get("/plain", cookies=_stored(shop))
    assert result.header("cache-control") == "public, max-age=60"
    assert result.header("vary") is None
    assert result.set_cookies == []


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
