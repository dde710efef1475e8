"""The preference page, stated preferences and the recommender explanation page, through
real requests to each host app."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from consent_middleware import ConsentPolicy

from .conftest import Driver, DriverFactory, make_cookie

POLICY = ConsentPolicy.from_toml(Path(__file__).parent.parent / "examples" / "policy.toml")


@pytest.fixture
def shop(make_driver: DriverFactory) -> Driver:
    return make_driver(policy=POLICY)


def with_consent(driver: Driver, *granted: str) -> dict[str, str]:
    return {driver.cookie_name: make_cookie(granted, decided_at=int(time.time()), policy=POLICY)}


def test_stated_preferences_saved_from_the_preference_centre(shop: Driver) -> None:
    cookies = with_consent(shop, "personalisation")
    page = shop.get("/consent", cookies=cookies)
    assert "Your preferences" in page.text
    result = shop.post_form(
        [
            ("action", "save_preferences"),
            ("favourite_categories", "Tea"),
            ("favourite_categories", "Garden"),
            ("favourite_categories", "<not a choice>"),
            ("next", "/consent"),
        ],
        cookies=cookies,
    )
    assert result.status == 303
    assert result.header("location") == "/consent"
    prefs = result.cookie("__Host-consent_prefs")
    assert prefs
    cookies["__Host-consent_prefs"] = prefs
    assert json.loads(shop.get("/prefs", cookies=cookies).text) == ["Tea", "Garden"]
    page = shop.get("/consent", cookies=cookies)
    ticked = re.findall(r'name="favourite_categories" value="(\w+)" id="[^"]+" checked', page.text)
    assert ticked == ["Tea", "Garden"]


def test_stated_preferences_refused_in_guest_mode(shop: Driver) -> None:
    cookies = with_consent(shop, "session_personalisation")
    assert "Your preferences" not in shop.get("/consent", cookies=cookies).text
    result = shop.post_form(
        [("action", "save_preferences"), ("favourite_categories", "Tea")], cookies=cookies
    )
    assert result.status == 403
    assert "only while personalisation is on" in result.text
    assert result.set_cookies == []


def test_accept_all_leaves_the_sensitive_purpose_unticked(shop: Driver) -> None:
    value = shop.decide("accept_all")
    granted = shop.mode(value)["granted"]
    assert "personalisation" in granted
    assert "health_personalisation" not in granted
    ticked = shop.decide("save", ("health_personalisation", "personalisation"))
    assert "health_personalisation" in shop.mode(ticked)["granted"]


@pytest.mark.parametrize(
    ("granted", "button", "after"),
    [
        pytest.param(
            ("personalisation", "analytics"),
            "Browse without personalisation",
            ["analytics", "necessary"],
            id="switch-off",
        ),
        pytest.param(
            ("analytics",),
            "Personalise my shopping",
            ["analytics", "necessary", "personalisation", "session_personalisation"],
            id="switch-on",
        ),
    ],
)
def test_one_button_switches_personalisation_and_keeps_the_rest(
    shop: Driver, granted: tuple[str, ...], button: str, after: list[str]
) -> None:
    cookies = with_consent(shop, *granted)
    page = shop.get("/consent", cookies=cookies).text
    form = re.search(r'<form[^>]*class="consent-switch">(.*?)</form>', page, re.DOTALL)
    assert form and button in form.group(1)
    purposes = re.findall(r'name="purpose" value="(\w+)"', form.group(1))
    value = shop.decide("save", tuple(purposes), cookies=cookies)
    assert shop.mode(value)["granted"] == after


def test_why_page_lists_the_recommenders_parameters(shop: Driver) -> None:
    result = shop.get("/consent/why")
    assert result.status == 200
    assert result.header("content-type") == "text/html; charset=utf-8"
    html = result.text
    assert "<h1>How recommendations are chosen</h1>" in html
    assert "You now browse:</strong> without personalisation" in html
    for signal in POLICY.signals:
        assert signal.label in html
    assert "Kept for 365 days at most" in html
    assert "sensitive: used only if you allow it separately" in html
    assert '<a href="/consent">Change your choices</a>' in html
    guest = shop.get("/consent/why", cookies=with_consent(shop, "session_personalisation"))
    assert "You now browse:</strong> in guest mode" in guest.text


def test_preference_page_links_to_the_explanation(shop: Driver) -> None:
    assert '<a href="/consent/why">How recommendations are chosen</a>' in shop.get("/consent").text
