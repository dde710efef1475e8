"""What a shopper gets, checked in a real browser against the demo shop under uvicorn."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

CONSENT = "consent"
VISIT = "consent_visit"


BANNER_BUTTONS = ["Accept all", "Reject all", "Customise"]


def cookie_names(context: BrowserContext) -> set[str]:
    return {c["name"] for c in context.cookies()}


def why_texts(page: Page) -> list[str]:
    """The text of every "Why am I seeing this?" disclosure, opened."""
    texts = []
    for details in page.locator("details.consent-why").all():
        details.locator("summary").click()
        texts.append(details.inner_text())
    return texts


def test_first_visit_shows_the_banner_with_equal_choices(page: Page) -> None:
    page.goto("/")
    banner = page.locator("section.consent-banner")
    expect(banner).to_be_visible()
    boxes, styles = [], []
    for label in BANNER_BUTTONS:
        button = banner.get_by_role("button", name=label, exact=True)
        expect(button).to_be_visible()
        box = button.bounding_box()
        assert box is not None
        boxes.append((round(box["width"]), round(box["height"])))
        styles.append(
            button.evaluate(
                "b => { const s = getComputedStyle(b);"
                " return [s.fontSize, s.fontWeight, s.color, s.backgroundColor, s.borderWidth]; }"
            )
        )
    assert len(set(boxes)) == 1, boxes
    assert len({tuple(s) for s in styles}) == 1, styles
    assert banner.locator("input[type=checkbox]").count() == 0


def test_reject_all_gives_suggestions_that_name_nothing_viewed(page: Page) -> None:
    page.goto("/products/sencha-green-tea")
    page.get_by_role("button", name="Reject all").click()
    expect(page.locator("section.consent-banner")).to_have_count(0)
    page.goto("/products/jasmine-pearls")
    page.goto("/")
    texts = why_texts(page)
    assert texts
    for text in texts:
        assert "none of your data was used" in text
        assert "Sencha" not in text and "Jasmine" not in text
    expect(page.get_by_text("Because you viewed")).to_have_count(0)
    assert VISIT not in cookie_names(page.context)


def test_guest_mode_says_what_was_viewed_in_this_visit(page: Page) -> None:
    page.goto("/consent?next=/")
    page.get_by_label("Tailor this visit").check()
    page.get_by_role("button", name="Save choices").click()
    page.goto("/products/walking-socks")
    page.goto("/")
    expect(page.get_by_role("heading", name="Because you viewed Walking socks")).to_be_visible()
    texts = why_texts(page)
    personal = [t for t in texts if "Because you viewed Walking socks in this visit." in t]
    assert personal
    assert "kept for this visit only" in personal[0]
    visit = next(c for c in page.context.cookies() if c["name"] == VISIT)
    assert visit["expires"] == -1  # a session cookie: gone when the browser session ends


def test_full_personalisation_uses_stated_preferences(page: Page) -> None:
    page.goto("/")
    page.get_by_role("button", name="Accept all").click()
    page.goto("/consent?next=/")
    page.get_by_label("Garden").check()
    page.get_by_role("button", name="Save my preferences").click()
    page.goto("/")
    expect(page.get_by_role("heading", name="Garden, which you like")).to_be_visible()
    assert any("Because you told us you like Garden." in t for t in why_texts(page))


def test_withdrawing_returns_to_non_personalised_and_removes_the_visit(page: Page) -> None:
    page.goto("/")
    page.get_by_role("button", name="Accept all").click()
    page.goto("/products/enamel-mug")
    assert VISIT in cookie_names(page.context)
    page.goto("/")
    page.locator("header").get_by_role("link", name="Privacy choices").click()
    page.get_by_role("button", name="Reject all").click()
    page.goto("/")
    assert VISIT not in cookie_names(page.context)
    expect(page.get_by_text("Because you viewed")).to_have_count(0)
    expect(page.locator("footer")).to_contain_text("Suggestions are not personalised")


def test_global_privacy_control_turns_marketing_off_and_says_so(
    browser: Browser, shop_url: str
) -> None:
    context = browser.new_context(base_url=shop_url, extra_http_headers={"Sec-GPC": "1"})
    page = context.new_page()
    page.goto("/")
    page.get_by_role("button", name="Accept all").click()
    expect(page.locator("aside.offer")).to_have_count(0)
    assert page.locator("script[src='/static/pixel.js']").count() == 0
    assert page.locator("script[src='/static/analytics.js']").count() == 1
    expect(page.locator("footer")).to_contain_text("Global Privacy Control")
    page.goto("/consent")
    expect(page.get_by_role("status")).to_contain_text("Global Privacy Control")
    expect(page.get_by_label("Personalised offers and advertising")).to_be_disabled()
    state = page.request.get("/consent/state").json()
    assert state["gpc"] is True
    assert state["purposes"]["marketing"] is False
    assert "demo_ads" not in cookie_names(context)
    context.close()


@pytest.mark.parametrize("choice", ["Accept all", "Reject all", "Customise"])
def test_every_choice_works_without_javascript(
    browser: Browser, shop_url: str, choice: str
) -> None:
    context = browser.new_context(base_url=shop_url, java_script_enabled=False)
    page = context.new_page()
    page.goto("/products/glass-teapot")
    page.locator("section.consent-banner").get_by_role("button", name=choice).click()
    if choice == "Customise":
        expect(page.get_by_role("heading", name="Privacy choices", exact=True)).to_be_visible()
        page.get_by_label("Measure how the shop is used").check()
        page.get_by_role("button", name="Save choices").click()
    expect(page).to_have_url(f"{shop_url}/products/glass-teapot")
    expect(page.locator("section.consent-banner")).to_have_count(0)
    state = page.request.get("/consent/state").json()
    assert state["decided"] is True
    assert state["purposes"]["analytics"] is (choice != "Reject all")
    assert state["purposes"]["personalisation"] is (choice == "Accept all")
    context.close()


def focused_text(page: Page) -> str:
    return str(
        page.evaluate(
            "() => (document.activeElement.innerText || document.activeElement.labels?.[0]"
            "?.innerText || '').trim()"
        )
    )


def press_tab_until(page: Page, text: str, limit: int = 80) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if focused_text(page) == text:
            return
    raise AssertionError(f"{text!r} cannot be reached with {limit} presses of the Tab key")


def test_the_banner_comes_first_in_the_tab_order(page: Page) -> None:
    page.goto("/")
    reached = []
    for _ in range(3):
        page.keyboard.press("Tab")
        reached.append(focused_text(page))
    assert reached == BANNER_BUTTONS


def test_enter_on_reject_all_a_few_tabs_from_the_top_records_the_refusal(page: Page) -> None:
    page.goto("/")
    press_tab_until(page, "Reject all", limit=3)
    page.keyboard.press("Enter")
    expect(page.locator("section.consent-banner")).to_have_count(0)
    expect(page).to_have_url(re.compile(r"/$"))
    state = page.request.get("/consent/state").json()
    assert state["decided"] is True
    assert not any(state["purposes"][p] for p in ("analytics", "personalisation", "marketing"))


PHONE = {"width": 360, "height": 640}
DESKTOP = {"width": 1280, "height": 720}


def bottom_of(page: Page, selector: str) -> float:
    box = page.locator(selector).bounding_box()
    assert box is not None
    return float(box["y"] + box["height"])


def top_of(page: Page, selector: str) -> float:
    box = page.locator(selector).bounding_box()
    assert box is not None
    return float(box["y"])


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_end_of_the_page_scrolls_into_view_above_the_banner(
    page: Page, viewport: dict[str, int]
) -> None:
    page.set_viewport_size(viewport)
    page.goto("/")
    expect(page.locator("section.consent-banner")).to_be_visible()
    page.evaluate("() => window.scrollTo(0, document.scrollingElement.scrollHeight)")
    last = "footer > :last-child"
    assert 0 < bottom_of(page, last) <= top_of(page, "section.consent-banner")
    # However long the text, the choices themselves stay inside the window.
    for label in BANNER_BUTTONS:
        button = f"section.consent-banner button:text-is('{label}')"
        assert top_of(page, "section.consent-banner") <= top_of(page, button)
        assert bottom_of(page, button) <= viewport["height"]


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_banner_never_hides_the_element_in_focus(page: Page, viewport: dict[str, int]) -> None:
    page.set_viewport_size(viewport)
    page.goto("/")
    banner_top = top_of(page, "section.consent-banner")
    hidden, seen = [], 0
    for _ in range(200):
        page.keyboard.press("Tab")
        where = page.evaluate(
            "() => { const e = document.activeElement;"
            " if (e === document.body || e.closest('.consent-banner')) return null;"
            " const r = e.getBoundingClientRect(); return [r.top, r.bottom]; }"
        )
        if where is None:
            if seen:
                break  # round the page once
            continue
        seen += 1
        if not (where[0] >= 0 and where[1] <= banner_top):
            hidden.append((focused_text(page), where))
    assert seen > 20
    assert hidden == []


def test_the_whole_flow_by_keyboard(page: Page) -> None:
    page.goto("/")
    press_tab_until(page, "Reject all")
    assert page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle") != "none"
    page.keyboard.press("Enter")
    expect(page.locator("section.consent-banner")).to_have_count(0)
    press_tab_until(page, "Privacy choices")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Privacy choices", exact=True)).to_be_visible()
    press_tab_until(page, "Tailor this visit")
    page.keyboard.press("Space")
    expect(page.get_by_label("Tailor this visit")).to_be_checked()
    press_tab_until(page, "Save choices")
    page.keyboard.press("Enter")
    expect(page.locator("footer")).to_contain_text("Guest mode")
    state = page.request.get("/consent/state").json()
    assert state["mode"] == "session"
    press_tab_until(page, "Walking socks")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Walking socks", level=1)).to_be_visible()
    press_tab_until(page, "Why am I seeing this?")
    page.keyboard.press("Enter")
    expect(page.locator("details.consent-why[open]")).to_have_count(1)


def test_download_and_erase_from_the_preference_centre(page: Page) -> None:
    page.goto("/")
    page.get_by_role("button", name="Accept all").click()
    page.goto("/products/insulated-flask")
    page.goto("/consent")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download my data").click()
    data = json.loads(Path(download.value.path()).read_text())
    assert [h["kind"] for h in data["history"]] == ["given"]
    assert data["visit"] == {"viewed_products": ["insulated-flask"]}
    page.get_by_role("button", name="Erase my data").click()
    expect(page.get_by_role("heading", name="Your data was erased")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Your consent history (1 choice) was deleted.")
    assert not {CONSENT, VISIT} & cookie_names(page.context)
    page.goto("/")
    expect(page.locator("section.consent-banner")).to_be_visible()
