"""The shopper's controls in the demo shop, in Chromium: "Don't use this" and "Forget this
item" where a suggestion is explained, the paid placement, suggestions without
personalisation for one visit, feedback counted without tracking, and interests instead of
products."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from consent_middleware.cli.main import main

from ..servers import serve
from .axe import assert_no_serious_violations


def guest_mode(page: Page) -> None:
    page.goto("/consent?next=/")
    page.get_by_label("Tailor this visit").check()
    page.get_by_role("button", name="Save choices").click()


def shelf(page: Page, heading: str) -> Locator:
    return page.locator("section.shelf").filter(has=page.get_by_role("heading", name=heading))


def opened_note(container: Locator) -> Locator:
    """The first "Why am I seeing this?" of ``container``, opened."""
    details = container.locator("details.consent-why").first
    details.locator("summary").click()
    return details


def consent_id(context: BrowserContext) -> str:
    value = next(c["value"] for c in context.cookies() if c["name"] == "consent")
    return value.split(".")[-2]  # the consent id, before the signature


def ledger_rows(path: Path, query: str, *args: Any, wanted: int = 1) -> list[Any]:
    """The rows of ``query`` on the shop's ledger, waiting up to 15 s for ``wanted`` (the
    shop writes in the background: choices at once, counts every few seconds)."""
    deadline = time.monotonic() + 15
    while True:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = db.execute(query, args).fetchall()
        except sqlite3.OperationalError:
            rows = []  # not made yet
        finally:
            db.close()
        if len(rows) >= wanted or time.monotonic() > deadline:
            return rows
        time.sleep(0.2)


def test_dont_use_this_stops_the_signal_and_the_ledger_and_download_show_it(
    page: Page, shop_ledger: Path
) -> None:
    guest_mode(page)
    page.goto("/products/walking-socks")
    page.goto("/")
    note = opened_note(shelf(page, "Because you viewed Walking socks"))
    expect(note).to_contain_text("What weighed most: Products you viewed in this visit.")
    home = page.url
    note.get_by_role("button", name="Don't use this").click()
    assert page.url == home  # back on the same page
    expect(page.get_by_role("heading", name="Because you viewed")).to_have_count(0)
    page.goto("/products/insulated-flask")  # viewing more adds nothing now
    page.goto("/")
    expect(page.get_by_role("heading", name="Because you viewed")).to_have_count(0)
    cid = consent_id(page.context)
    rows = ledger_rows(
        shop_ledger,
        "SELECT kind, method, signal FROM consent_events WHERE consent_id = ? ORDER BY time",
        cid,
        wanted=2,
    )
    assert rows == [("given", "preference_centre", ""), ("stopped", "why", "viewed_products")]
    download = page.request.get("/consent/data").json()
    assert download["stopped_signals"] == ["viewed_products"]
    assert download["visit"] == {}
    assert [(h["kind"], h.get("signal")) for h in download["history"]] == [
        ("given", None),
        ("stopped", "viewed_products"),
    ]
    # The preference centre shows it, and switches it on again.
    page.goto("/consent?next=/")
    stopped = page.locator("section.consent-stopped")
    expect(stopped).to_contain_text("Products you viewed in this visit")
    stopped.get_by_role("button", name="Use again").click()
    expect(page).to_have_url(home)
    page.goto("/products/insulated-flask")
    page.goto("/")
    expect(page.get_by_role("heading", name="Because you viewed Insulated flask")).to_be_visible()


def test_forget_this_item_removes_the_one_product(page: Page) -> None:
    guest_mode(page)
    page.goto("/products/bee-hotel")
    page.goto("/products/herb-planter")
    page.goto("/")
    note = opened_note(shelf(page, "Because you viewed Herb planter"))
    note.get_by_role("button", name="Forget this item").click()
    expect(page.get_by_role("heading", name="Because you viewed Bee hotel")).to_be_visible()
    expect(page.get_by_role("heading", name="Because you viewed Herb planter")).to_have_count(0)
    data = page.request.get("/consent/data").json()
    assert data["visit"] == {"viewed_products": ["bee-hotel"]}
    assert data["history"][-1]["kind"] == "forgotten"
    assert "herb-planter" not in str(data["history"])


def test_a_sponsored_item_says_who_paid(page: Page) -> None:
    page.goto("/")
    note = opened_note(shelf(page, "Sponsored"))
    expect(note).to_contain_text("Sponsored by Kettle & Co.")
    expect(note).to_contain_text("It was not targeted at you: none of your data was used.")


def test_one_click_shows_suggestions_without_personalisation_for_this_visit(page: Page) -> None:
    page.goto("/")
    page.get_by_role("button", name="Accept all").click()
    page.goto("/products/copper-watering-can")
    page.goto("/")
    consent = next(c for c in page.context.cookies() if c["name"] == "consent")
    page.get_by_role("button", name="See suggestions without personalisation").click()
    expect(page.get_by_role("heading", name="Because you viewed")).to_have_count(0)
    expect(page.locator("footer")).to_contain_text("Suggestions are not personalised")
    expect(page.get_by_text("Suggestions are not personalised for this visit.")).to_be_visible()
    assert next(c for c in page.context.cookies() if c["name"] == "consent") == consent
    page.get_by_role("button", name="Personalise again").click()
    expect(
        page.get_by_role("heading", name="Because you viewed Copper watering can")
    ).to_be_visible()


def test_feedback_is_counted_without_tracking_and_too_personal_stops_the_signal(
    page: Page, shop_ledger: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    guest_mode(page)
    page.goto("/products/folding-stool")
    page.goto("/")
    opened_note(shelf(page, "Because you viewed Folding stool")).get_by_role(
        "button", name="Too personal"
    ).click()
    expect(page.get_by_role("heading", name="Because you viewed")).to_have_count(0)
    opened_note(shelf(page, "Bestsellers this week")).get_by_role("button", name="Helpful").click()
    rows = ledger_rows(
        shop_ledger,
        "SELECT day, kind, name, mode, reason, signal FROM consent_counts WHERE kind = "
        "'feedback' AND mode = 'session' ORDER BY name",
        wanted=2,
    )
    day = time.strftime("%Y-%m-%d", time.gmtime())
    assert ("feedback", "too_personal", "session", "personal", "viewed_products") in [
        row[1:] for row in rows
    ]
    assert ("feedback", "helpful", "session", "general", "") in [row[1:] for row in rows]
    assert {row[0] for row in rows} == {day}
    everything = ledger_rows(shop_ledger, "SELECT * FROM consent_counts")
    assert consent_id(page.context) not in repr(everything)
    assert main(["report", "--ledger", f"sqlite:///{shop_ledger}"]) == 0
    report = capsys.readouterr().out
    assert "Feedback per mode, kind of reason and signal" in report
    assert "Outcomes per week and mode" in report and "product_view" in report


def test_the_controls_are_accessible(page: Page) -> None:
    guest_mode(page)
    page.goto("/products/walking-socks")
    page.goto("/products/enamel-mug")
    for details in page.locator("details.consent-why").all()[:3]:
        details.locator("summary").click()
    assert_no_serious_violations(page)
    opened_note(shelf(page, "Because you viewed Walking socks")).get_by_role(
        "button", name="Don't use this"
    ).click()
    page.goto("/consent")
    expect(page.locator("section.consent-stopped")).to_be_visible()
    assert_no_serious_violations(page)


@pytest.fixture(scope="module")
def segments_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The demo shop with --segments-only (``DEMO_SEGMENTS_ONLY=1``)."""
    ledger = tmp_path_factory.mktemp("segments") / "consent.db"
    env = {
        "CONSENT_SECRET_KEY": "browser-test-key-" * 3,
        "CONSENT_LEDGER": f"sqlite:///{ledger}",
        "DEMO_SEGMENTS_ONLY": "1",
    }
    with serve("examples.demo_shop", env) as url:
        yield url


def test_segments_only_shelves_name_an_interest_not_a_product(
    browser: Browser, segments_url: str
) -> None:
    context = browser.new_context(base_url=segments_url)
    try:
        page = context.new_page()
        page.goto("/")
        page.get_by_role("button", name="Accept all").click()
        page.goto("/products/oolong-tieguanyin")
        page.goto("/products/chai-spice-blend")
        page.goto("/")
        interest = shelf(page, "Because you seem to like tea")
        note = opened_note(interest)
        expect(note).to_contain_text("Because you seem to like tea.")
        expect(note).to_contain_text("Only your broad interest in tea was used")
        assert "Oolong" not in note.inner_text() and "Chai" not in note.inner_text()
        expect(note.get_by_role("button", name="Forget this item")).to_have_count(0)
        expect(page.get_by_role("heading", name="Because you viewed")).to_have_count(0)
        assert_no_serious_violations(page)
    finally:
        context.close()
