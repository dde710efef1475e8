"""Relative importance: signal weights, "What weighed most" in each disclosure, the ranked
list on /consent/why, and the switch to suggestions without personalisation for one visit."""

from __future__ import annotations

import json
import math
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import jinja2
import pytest

from consent_middleware import ConfigurationError, ConsentPolicy, Mode, Signal
from consent_middleware.core.codec import ConsentState
from consent_middleware.core.context import PersonalisationContext
from consent_middleware.jinja import install
from consent_middleware.ui.pages import Pages
from consent_middleware.web.engine import ConsentEngine

from .conftest import KEY, ORIGIN, Driver, DriverFactory
from .test_jinja import context

POLICY = ConsentPolicy.from_toml(Path(__file__).parent.parent / "examples" / "policy.toml")


def render(source: str, **values: Any) -> str:
    return install(jinja2.Environment(autoescape=True)).from_string(source).render(**values)


# -- weights ------------------------------------------------------------------------------


@pytest.mark.parametrize("weight", [0, -1, math.nan, math.inf, "3", True, None])
def test_a_weight_is_a_positive_number(weight: Any) -> None:
    with pytest.raises(ConfigurationError, match="signal 'tea': weight must be a positive number"):
        Signal("tea", "Tea", "personalisation", weight=weight)


def test_a_weight_and_its_reason_are_read_from_toml() -> None:
    viewed = POLICY.signal("viewed_products")
    assert viewed.weight == 2
    assert viewed.weight_reason.startswith("What you look at now")
    assert POLICY.signal("health_interest").weight == 1.0  # unless said


def test_signals_are_ranked_by_weight_equal_ones_as_declared() -> None:
    ranked = [s.id for s in POLICY.by_weight]
    assert ranked == ["favourite_categories", "viewed_products", "health_interest"]
    shares = [(s.id, share) for s, share in POLICY.weight_shares()]
    assert shares == [
        ("favourite_categories", 50),
        ("viewed_products", 33),
        ("health_interest", 17),
    ]
    light = [replace(s, weight=1.0) for s in POLICY.signals]
    assert [s.id for s in sorted(light, key=lambda s: -s.weight)] == [s.id for s in light]


def test_each_disclosure_says_what_weighed_most() -> None:
    ctx = context("personalisation")
    both = ctx.reason("viewed_products", "favourite_categories", text="Tea for you")
    assert both.weighed_most is not None and both.weighed_most.id == "favourite_categories"
    html = render("{{ why(r) }}", consent=ctx, r=both)
    assert "<p>What weighed most: Categories you told us you like.</p>" in html
    one = render("{{ why(r) }}", consent=ctx, r=ctx.reason("viewed_products", text="Tea"))
    assert "<p>What weighed most: Products you viewed in this visit.</p>" in one
    general = render("{{ why(r) }}", consent=ctx, r=ctx.general_reason())
    assert "weighed most" not in general


def test_the_why_page_ranks_the_signals_and_says_why() -> None:
    ctx = context()
    page = Pages().render("consent/why_page.html", ctx=ctx, consent=ctx)
    section = page.split("<h2>What weighs most</h2>")[1].split("<h2>")[0]
    items = re.findall(r"<li><strong>(.*?)</strong>: (\d+)% of the weight(.*?)</li>", section)
    assert [(label, int(share)) for label, share, _ in items] == [
        ("Categories you told us you like", 50),
        ("Products you viewed in this visit", 33),
        ("Health products you viewed", 17),
    ]
    assert "You told us yourself, so it says most about what you like." in items[0][2]


# -- suggestions without personalisation for this visit ----------------------------------


def post(driver: Driver, cookies: dict[str, str], fields: list[tuple[str, str]]) -> Any:
    nonce, token = driver.csrf()
    return driver.request(
        "POST",
        "/consent/pause",
        headers=[("Content-Type", "application/x-www-form-urlencoded"), ("Origin", ORIGIN)],
        cookies={**cookies, driver.csrf_name: nonce},
        body="&".join(f"{k}={v}" for k, v in [*fields, ("csrf_token", token)]).encode(),
    )


def test_one_click_pauses_personalisation_for_this_visit_only(make_driver: DriverFactory) -> None:
    driver = make_driver(policy=POLICY)
    consent = driver.decide("save", ("personalisation",))
    cookies = {driver.cookie_name: consent}
    paused = post(driver, cookies, [("action", "pause"), ("next", "/products/tea")])
    assert (paused.status, paused.header("location")) == (303, "/products/tea")
    (line,) = paused.set_cookies
    assert line.startswith("__Host-consent_pause=1;")
    assert "Max-Age" not in line and "Expires" not in line  # ends with the browser session
    cookies["__Host-consent_pause"] = "1"
    seen = json.loads(driver.get("/", cookies=cookies).text)
    assert seen["mode"] == "non_personalised"
    assert "personalisation" in seen["granted"]  # no new consent
    assert driver.get("/visit", cookies=cookies).status == 403
    resumed = post(driver, cookies, [("action", "resume")])
    assert resumed.set_cookies[0].startswith("__Host-consent_pause=;")
    assert "Max-Age=0" in resumed.set_cookies[0]
    del cookies["__Host-consent_pause"]
    assert json.loads(driver.get("/", cookies=cookies).text)["mode"] == "personalised"


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        pytest.param([("action", "stop")], 400, id="unknown-action"),
        pytest.param([], 400, id="no-action"),
    ],
)
def test_a_bad_switch_is_refused(
    make_driver: DriverFactory, fields: list[tuple[str, str]], status: int
) -> None:
    driver = make_driver(policy=POLICY)
    result = post(driver, {}, fields)
    assert result.status == status
    assert result.set_cookies == []


def test_the_switch_needs_the_form_token(make_driver: DriverFactory) -> None:
    driver = make_driver(policy=POLICY)
    result = driver.request(
        "POST",
        "/consent/pause",
        headers=[("Content-Type", "application/x-www-form-urlencoded"), ("Origin", ORIGIN)],
        body=b"action=pause",
    )
    assert result.status == 403 and result.set_cookies == []


def paused_context(*granted: str, paused: bool = True) -> PersonalisationContext:
    engine = ConsentEngine(policy=POLICY, secret_keys=[KEY], secure=False)
    state = ConsentState("p" * 22, POLICY.grant(granted), 0)
    header = "consent_pause=1" if paused else ""
    return PersonalisationContext(POLICY, state, False, engine, header, "/consent", "/tea")


def test_the_switch_beside_the_suggestions() -> None:
    off = render("{{ personalisation_switch() }}", consent=paused_context("analytics"))
    assert off == ""  # nothing to pause
    on = paused_context("personalisation", paused=False)
    html = render("{{ personalisation_switch() }}", consent=on)
    assert on.mode is Mode.PERSONALISED and not on.paused
    assert '<form method="post" action="/consent/pause" class="consent-switch" lang="en">' in html
    assert '<input type="hidden" name="next" value="/tea">' in html
    assert (
        '<button type="submit" name="action" value="pause">'
        "See suggestions without personalisation</button>"
    ) in html
    paused = paused_context("personalisation")
    assert paused.mode is Mode.NON_PERSONALISED and paused.paused
    assert paused.allows("personalisation")
    html = render("{{ personalisation_switch() }}", consent=paused)
    assert "Suggestions are not personalised for this visit." in html
    assert 'value="resume">Personalise again</button>' in html
    # The preference centre keeps offering the choice itself, not the visit's pause.
    centre = render("{{ preference_centre() }}", consent=paused_context("personalisation"))
    assert "Suggestions are not personalised for this visit." in centre
    assert "Browse without personalisation" in centre


def test_a_pause_cookie_of_another_value_pauses_nothing() -> None:
    engine = ConsentEngine(policy=POLICY, secret_keys=[KEY], secure=False)
    state = ConsentState("p" * 22, POLICY.grant(["personalisation"]), 0)
    for header in ("consent_pause=0", "consent_pause=1; consent_pause=1", "xconsent_pause=1"):
        ctx = PersonalisationContext(POLICY, state, False, engine, header, "/consent", "/")
        assert ctx.mode is Mode.PERSONALISED, header
