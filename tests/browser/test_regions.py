"""Regional rules in Chromium: the demo shop behind a CDN that names each visitor's region
(``CF-IPCountry``, ``CF-Region-Code``), as ``--region-header`` starts it."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, expect

from consent_middleware.ui.translations import translations

from ..servers import serve
from .axe import assert_no_serious_violations

GERMAN = translations("de")


@pytest.fixture(scope="module")
def regional_shop_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    ledger = tmp_path_factory.mktemp("ledger") / "consent.db"
    env = {
        "CONSENT_SECRET_KEY": "browser-test-key-" * 3,
        "CONSENT_LEDGER": f"sqlite:///{ledger}",
        "CONSENT_REGION_HEADER": "CF-IPCountry",
        "CONSENT_REGION_SUBDIVISION_HEADER": "CF-Region-Code",
    }
    with serve("examples.demo_shop", env) as url:
        yield url


def visitor(browser: Browser, url: str, headers: dict[str, str]) -> BrowserContext:
    """A fresh profile whose every request carries ``headers``, as the CDN and the
    browser's own settings would send them."""
    return browser.new_context(base_url=url, extra_http_headers=headers)


def test_a_german_visitor_from_germany_sees_a_german_opt_in_banner(
    browser: Browser, regional_shop_url: str
) -> None:
    context = visitor(browser, regional_shop_url, {"Accept-Language": "de", "CF-IPCountry": "DE"})
    try:
        page = context.new_page()
        page.goto("/")
        banner = page.locator("#consent-banner")
        expect(banner).to_be_visible()
        assert banner.get_attribute("lang") == "de"
        for label in ("Accept all", "Reject all"):
            expect(
                banner.get_by_role("button", name=GERMAN.gettext(label), exact=True)
            ).to_be_visible()
        expect(page.get_by_label("Offer")).to_have_count(0)  # nothing until a choice
        assert_no_serious_violations(page)
        banner.get_by_role("button", name=GERMAN.gettext("Accept all"), exact=True).click()
        expect(page.locator("#consent-banner")).to_have_count(0)
        history = json.loads(page.request.get("/consent/data").text())["history"]
        assert [(e["region"], e["rule_set"], e["method"]) for e in history] == [
            ("DE", "opt_in", "banner")
        ]
    finally:
        context.close()


def test_a_visitor_from_california_with_gpc_sees_the_opt_out_notice_with_marketing_off(
    browser: Browser, regional_shop_url: str
) -> None:
    context = visitor(
        browser,
        regional_shop_url,
        {"CF-IPCountry": "US", "CF-Region-Code": "CA", "Sec-GPC": "1"},
    )
    try:
        page = context.new_page()
        page.goto("/")
        notice = page.locator("#consent-banner")
        expect(notice).to_be_visible()
        expect(notice).to_contain_text(
            "Your browser sends Global Privacy Control, which this shop honours as your request "
            "to opt out of: Measure how the shop is used; Personalised offers and advertising."
        )
        expect(
            notice.get_by_role("link", name="Do Not Sell or Share My Personal Information")
        ).to_be_visible()
        expect(notice.get_by_role("button", name="Accept all")).to_have_count(0)
        expect(page.get_by_label("Offer")).to_have_count(0)
        state = json.loads(page.request.get("/consent/state").text())
        assert (state["region"], state["rule_set"], state["gpc"]) == ("US-CA", "opt_out", True)
        assert state["purposes"]["marketing"] is False
        assert_no_serious_violations(page)
        # The link leads to the choices, where GPC's purposes cannot be ticked.
        notice.get_by_role("link", name="Do Not Sell or Share My Personal Information").click()
        expect(page.get_by_label("Personalised offers and advertising")).to_be_disabled()
        assert_no_serious_violations(page)
        page.goto("/")
        page.locator("#consent-banner").get_by_role("button", name="Got it").click()
        expect(page.locator("#consent-banner")).to_have_count(0)
        history = json.loads(page.request.get("/consent/data").text())["history"]
        assert [(e["region"], e["rule_set"], e["granted"]) for e in history] == [
            ("US-CA", "opt_out", ["necessary"])
        ]
    finally:
        context.close()


def test_without_gpc_the_californian_notice_leaves_its_purposes_on(
    browser: Browser, regional_shop_url: str
) -> None:
    context = visitor(browser, regional_shop_url, {"CF-IPCountry": "US", "CF-Region-Code": "CA"})
    try:
        page = context.new_page()
        page.goto("/")
        expect(page.locator("#consent-banner")).to_contain_text(
            "This shop uses: Measure how the shop is used; Personalised offers and advertising."
        )
        expect(page.get_by_label("Offer")).to_be_visible()
        assert_no_serious_violations(page)
    finally:
        context.close()
