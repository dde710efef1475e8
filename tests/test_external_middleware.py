"""A shop behind another consent manager, through the ASGI, WSGI and Flask apps (and
Django, in test_external_django.py): that manager's cookie decides until the shopper
chooses in ours; GPC still overrides; nothing is recorded or kept in its name."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import jinja2
import pytest

from consent_middleware import PersonalisationContext
from consent_middleware.core.codec import ConsentState
from consent_middleware.interop import TCF, Cookiebot, ExternalDecision, OneTrust
from consent_middleware.jinja import install
from consent_middleware.ledger.sqlite import SQLiteLedger
from consent_middleware.web.engine import ConsentEngine

from .conftest import KEY, Driver, DriverFactory, make_cookie
from .test_external_sources import cookie_consent, optanon, tc_string
from .test_stores import POLICY

EVERYTHING_BUT_HEALTH = ["analytics", "marketing", "necessary", "personalisation"]
FUNCTIONAL_AND_TARGETING = optanon("C0001:1,C0002:0,C0003:1,C0004:1")
NOW = int(time.time())


def sources() -> list[Any]:
    return [OneTrust(), Cookiebot(), TCF()]


@pytest.fixture
def shop(make_driver: DriverFactory) -> Driver:
    return make_driver(policy=POLICY, external=sources())


def seen(driver: Driver, cookies: dict[str, str], **kwargs: Any) -> dict[str, Any]:
    """What the app's context says, and where its grants came from."""
    result = driver.get("/", cookies=cookies, **kwargs)
    assert result.status == 200, result.text
    state = driver.get("/per-browser?read=public_state", cookies=cookies, **kwargs)
    return {**json.loads(result.text), "source": json.loads(state.text)["source"]}


def own(driver: Driver, *granted: str, decided_at: int = NOW) -> dict[str, str]:
    return {driver.cookie_name: make_cookie(granted, decided_at=decided_at, policy=POLICY)}


# -- who decides ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cookie", "value", "source", "granted"),
    [
        pytest.param(
            "OptanonConsent",
            FUNCTIONAL_AND_TARGETING,
            "onetrust",
            ["marketing", "necessary", "personalisation", "session_personalisation"],
            id="onetrust",
        ),
        pytest.param(
            "CookieConsent",
            cookie_consent(False, True, False),
            "cookiebot",
            ["analytics", "necessary"],
            id="cookiebot",
        ),
        pytest.param(
            "euconsent-v2",
            tc_string(1, 5, 6, 8),
            "tcf",
            ["analytics", "necessary", "personalisation", "session_personalisation"],
            id="tcf",
        ),
    ],
)
def test_another_managers_cookie_decides_without_a_banner_of_ours(
    shop: Driver, cookie: str, value: str, source: str, granted: list[str]
) -> None:
    result = shop.get("/", cookies={"theme": "dark", cookie: value})
    assert json.loads(result.text)["granted"] == granted
    assert json.loads(result.text)["decided"] is True
    assert result.header("vary") == "Cookie"
    assert result.set_cookies == []  # no cookie of ours is made from theirs
    assert seen(shop, {cookie: value})["source"] == source


def test_without_any_cookie_nothing_is_decided(shop: Driver) -> None:
    assert seen(shop, {"theme": "dark"}) == {
        "mode": "non_personalised",
        "decided": False,
        "gpc": False,
        "granted": ["necessary"],
        "source": None,
    }


def test_our_own_valid_cookie_always_wins(shop: Driver) -> None:
    everything = {
        "OptanonConsent": FUNCTIONAL_AND_TARGETING,
        "CookieConsent": cookie_consent(True, True, True),
        "euconsent-v2": tc_string(*range(1, 12)),
    }
    state = seen(shop, {**everything, **own(shop, "analytics")})
    assert state["granted"] == ["analytics", "necessary"]
    assert state["source"] == "cookie"


@pytest.mark.parametrize(
    "ours",
    [
        pytest.param(lambda d: own(d, "analytics", decided_at=NOW - 400 * 86400), id="expired"),
        pytest.param(lambda d: {d.cookie_name: "tampered.value"}, id="tampered"),
        pytest.param(
            lambda d: {d.cookie_name: make_cookie(("analytics",), decided_at=NOW)},
            id="other-policy",
        ),
    ],
)
def test_a_cookie_of_ours_that_is_not_valid_leaves_the_decision_to_the_others(
    shop: Driver, ours: Any
) -> None:
    state = seen(shop, {**ours(shop), "OptanonConsent": FUNCTIONAL_AND_TARGETING})
    assert state["source"] == "onetrust"
    assert state["mode"] == "personalised"


def test_sources_are_asked_in_the_order_given(make_driver: DriverFactory) -> None:
    both = {
        "OptanonConsent": FUNCTIONAL_AND_TARGETING,
        "CookieConsent": cookie_consent(False, True, False),
    }
    onetrust_first = make_driver(policy=POLICY, external=[OneTrust(), Cookiebot()])
    assert seen(onetrust_first, both)["source"] == "onetrust"
    cookiebot_first = make_driver(policy=POLICY, external=[Cookiebot(), OneTrust()])
    assert seen(cookiebot_first, both)["source"] == "cookiebot"
    only_tcf = make_driver(policy=POLICY, external=[TCF()])
    assert seen(only_tcf, both)["source"] is None


def test_cookiebot_outside_a_consent_region_leaves_the_decision_to_the_next(
    make_driver: DriverFactory,
) -> None:
    shop = make_driver(policy=POLICY, external=[Cookiebot(), OneTrust()])
    state = seen(shop, {"CookieConsent": "-1", "OptanonConsent": FUNCTIONAL_AND_TARGETING})
    assert state["source"] == "onetrust"
    alone = seen(shop, {"CookieConsent": "-1"})
    assert (alone["source"], alone["decided"], alone["mode"]) == (None, False, "non_personalised")


@pytest.mark.parametrize(
    "value",
    [
        "garbage",
        "%",
        "%ZZ%",
        "{",
        "-1",
        "x" * 5000,
        "groups=C0003:1" + "&a=b" * 2000,
        "{stamp:'x',preferences:true" + ",a:1" * 1500 + "}",
        "B" + "A" * 3000,  # a TC string of version 1
        "\x7f\x01",
        "\u00e9t\u00e9",
    ],
)
def test_a_garbage_value_decides_nothing_and_never_fails(shop: Driver, value: str) -> None:
    cookies = {"OptanonConsent": value, "CookieConsent": value, "euconsent-v2": value}
    state = seen(shop, cookies)
    assert (state["source"], state["mode"], state["granted"]) == (
        None,
        "non_personalised",
        ["necessary"],
    )


# -- GPC, the ledger, the stores --------------------------------------------------------


def test_gpc_still_overrides_an_opt_in_from_another_manager(shop: Driver) -> None:
    cookies = {"OptanonConsent": FUNCTIONAL_AND_TARGETING}
    result = shop.get("/", cookies=cookies, headers=[("Sec-GPC", "1")])
    state = json.loads(result.text)
    assert "marketing" not in state["granted"]
    assert state["mode"] == "personalised"
    assert state["gpc"] is True
    # Nothing of ours to write the withdrawal into: no cookie is made.
    assert result.set_cookies == []
    assert "marketing" in seen(shop, cookies)["granted"]


def test_nothing_is_recorded_until_the_shopper_uses_our_banner(
    make_driver: DriverFactory, tmp_path: Path
) -> None:
    ledger = f"sqlite:///{tmp_path}/consent.db"
    shop = make_driver(policy=POLICY, external=sources(), ledger=ledger)
    theirs = {"OptanonConsent": FUNCTIONAL_AND_TARGETING}
    assert seen(shop, theirs)["source"] == "onetrust"
    assert seen(shop, theirs, headers=[("Sec-GPC", "1")])["gpc"] is True
    assert shop.get("/consent", cookies=theirs).status == 200
    assert events(tmp_path) == []
    ours = shop.decide("save", ("analytics",), cookies=theirs)
    assert [(e.kind, list(e.granted)) for e in events(tmp_path)] == [
        ("given", ["analytics", "necessary"])
    ]
    state = seen(shop, {**theirs, shop.cookie_name: ours})
    assert (state["source"], state["granted"]) == ("cookie", ["analytics", "necessary"])


def events(directory: Path) -> list[Any]:
    ledger = SQLiteLedger(directory / "consent.db")
    try:
        return list(ledger.events())
    finally:
        ledger.close()


def visit_cookie(driver: Driver) -> str:
    return driver.cookie_name + "_visit"


def test_this_visits_store_is_kept_under_the_source_that_decided(shop: Driver) -> None:
    theirs = {"OptanonConsent": FUNCTIONAL_AND_TARGETING}
    stored = shop.get("/view/green-tea", cookies=theirs)
    assert stored.status == 200
    visit = stored.cookie(visit_cookie(shop))
    assert visit
    with_visit = {visit_cookie(shop): visit}
    assert json.loads(shop.get("/visit", cookies={**theirs, **with_visit}).text) == ["green-tea"]
    # Bound to the source: another manager's decision, or ours, does not read it.
    cookiebot = {"CookieConsent": cookie_consent(True, False, False)}
    assert json.loads(shop.get("/visit", cookies={**cookiebot, **with_visit}).text) == []
    ours = own(shop, "session_personalisation")
    assert json.loads(shop.get("/visit", cookies={**ours, **with_visit}).text) == []


def test_preferences_across_visits_wait_for_a_choice_made_here(shop: Driver) -> None:
    theirs = {"OptanonConsent": FUNCTIONAL_AND_TARGETING}
    saved = shop.get("/prefs/set?c=Tea", cookies=theirs)
    assert saved.status == 200
    assert not saved.cookie(shop.cookie_name + "_prefs")  # nothing kept, at most a deletion
    assert json.loads(shop.get("/prefs", cookies=theirs).text) == []
    page = shop.get("/consent", cookies=theirs)
    assert 'name="favourite_categories"' not in page.text
    refused = shop.post_form(
        [("action", "save_preferences"), ("favourite_categories", "Tea")], cookies=theirs
    )
    assert refused.status == 403
    assert "Save your privacy choices here first." in refused.text


# -- what the shopper reads ----------------------------------------------------------------


def test_the_pages_of_ours_name_the_manager_the_choice_was_made_in(shop: Driver) -> None:
    theirs = {"CookieConsent": cookie_consent(True, False, False)}
    why = shop.get("/consent/why", cookies=theirs).text
    assert "as you chose in this site&rsquo;s Cookiebot consent banner." in why
    preferences = shop.get("/consent", cookies=theirs).text
    assert "You made this choice in this site&rsquo;s Cookiebot consent banner;" in preferences
    assert "You have not made a choice yet" not in preferences
    for cookies in ({}, own(shop, "personalisation")):
        assert "consent banner" not in shop.get("/consent/why", cookies=cookies).text
        assert "consent banner" not in shop.get("/consent", cookies=cookies).text


def test_why_names_the_manager_the_choice_was_made_in() -> None:
    engine = ConsentEngine(policy=POLICY, secret_keys=[KEY], secure=False)
    granted = POLICY.grant(["personalisation"])
    page = install(jinja2.Environment(autoescape=True)).from_string("{{ why(reason) }}")

    def disclosure(state: ConsentState | None, external: ExternalDecision | None) -> str:
        ctx = PersonalisationContext(
            POLICY, state, False, engine, "", "/consent", "/", None, external
        )
        return page.render(consent=ctx, reason=ctx.reason("viewed_products"))

    onetrust = ExternalDecision("onetrust", "OneTrust", granted)
    cookiebot = ExternalDecision("cookiebot", "Cookiebot", granted)
    ours = ConsentState("w" * 22, granted, NOW)
    sentence = "You agreed to this in this site&rsquo;s {} consent banner."
    # Twice each, so that the disclosure kept from the first is the one checked.
    for _ in range(2):
        assert sentence.format("OneTrust") in disclosure(None, onetrust)
        assert sentence.format("Cookiebot") in disclosure(None, cookiebot)
        assert "consent banner" not in disclosure(ours, None)
        assert "consent banner" not in disclosure(ours, onetrust)  # ours wins


def test_a_context_follows_an_external_decision_only_without_a_cookie_of_ours() -> None:
    granted = POLICY.grant(["marketing"])
    onetrust = ExternalDecision("onetrust", "OneTrust", granted)
    theirs = PersonalisationContext(POLICY, None, external=onetrust)
    assert (theirs.source, theirs.decided, theirs.granted, theirs.consent_id) == (
        "onetrust",
        True,
        granted,
        None,
    )
    assert theirs.external is onetrust
    with_gpc = PersonalisationContext(POLICY, None, True, external=onetrust)
    assert "marketing" not in with_gpc.granted
    assert (with_gpc.must_write, with_gpc.gpc_withdrawal) == (False, None)
    ours = PersonalisationContext(
        POLICY, ConsentState("o" * 22, POLICY.grant([]), NOW), external=onetrust
    )
    assert (ours.source, ours.external, ours.granted) == ("cookie", None, POLICY.grant([]))
    nobody = PersonalisationContext(POLICY)
    assert (nobody.source, nobody.decided, nobody.external) == (None, False, None)
