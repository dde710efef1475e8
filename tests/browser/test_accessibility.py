"""axe-core finds no serious or critical violation on the shopper's main pages."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page

from consent_middleware.ui.translations import translations

from .axe import assert_no_serious_violations


@pytest.mark.parametrize(
    "path", ["/", "/products/sencha-green-tea", "/consent", "/consent/why", "/basket"]
)
@pytest.mark.parametrize("decided", [False, True], ids=["banner", "decided"])
def test_no_serious_violations(page: Page, path: str, decided: bool) -> None:
    if decided:
        page.goto("/")
        page.get_by_role("button", name="Accept all").click()
    page.goto(path)
    for details in page.locator("details.consent-why").all()[:2]:
        details.locator("summary").click()
    assert_no_serious_violations(page)


@pytest.mark.parametrize("path", ["/", "/consent", "/consent/why"])
@pytest.mark.parametrize("language", ["de", "fr", "es", "it", "nl", "pl", "pt"])
def test_each_language_is_shown_and_axe_clean(
    browser: Browser, shop_url: str, language: str, path: str
) -> None:
    # The browser's own language setting sends Accept-Language, as a shopper's does.
    context = browser.new_context(base_url=shop_url, locale=language)
    try:
        page = context.new_page()
        page.goto(path)
        # The shop's own pages stay English; the banner says which language it is in.
        shown = page.locator("html" if path.startswith("/consent") else "#consent-banner")
        assert shown.get_attribute("lang") == language
        accept = translations(language).gettext("Accept all")
        if path != "/consent/why":
            assert page.get_by_role("button", name=accept, exact=True).count() >= 1
        else:
            assert page.get_by_role("heading", level=1).inner_text() == translations(
                language
            ).gettext("How recommendations are chosen")
        assert_no_serious_violations(page)
    finally:
        context.close()
