"""The middleware's own pages under their Content-Security-Policy, in a real browser: they
look as designed, their forms work, and no other page can frame them."""

from __future__ import annotations

from playwright.sync_api import ConsoleMessage, Page, expect


def _csp_reports(page: Page) -> list[str]:
    reports: list[str] = []

    def keep(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            reports.append(message.text)

    page.on("console", keep)
    return reports


def test_the_preference_page_renders_styled_and_its_form_works(page: Page, shop_url: str) -> None:
    reports = _csp_reports(page)
    response = page.goto("/consent?next=/products/glass-teapot")
    assert response is not None
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    # Both inline style blocks apply: the page's own (main) and the centre's (buttons).
    assert page.locator("main").evaluate("m => getComputedStyle(m).maxWidth") == "672px"
    button = page.get_by_role("button", name="Save choices")
    colour = button.evaluate("b => getComputedStyle(b).backgroundColor")
    assert colour not in ("rgba(0, 0, 0, 0)", "rgb(239, 239, 239)", "rgb(240, 240, 240)")
    page.get_by_label("Measure how the shop is used").check()
    button.click()
    expect(page).to_have_url(f"{shop_url}/products/glass-teapot")
    assert page.request.get("/consent/state").json()["purposes"]["analytics"] is True
    page.goto("/consent/why")
    expect(page.locator("h1")).to_be_visible()
    assert reports == []


def test_another_site_cannot_frame_the_preference_page(page: Page, shop_url: str) -> None:
    reports = _csp_reports(page)
    page.set_content(f'<iframe id="f" src="{shop_url}/consent" width=600 height=400></iframe>')
    frame = page.frame_locator("#f")
    # The browser refuses to render the framed page and says why.
    expect(frame.get_by_role("button", name="Save choices")).to_have_count(0, timeout=3000)
    assert any("frame-ancestors 'none'" in r for r in reports), reports
