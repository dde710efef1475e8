"""The django-oscar shop in Chromium: Oscar's own pages and its ``oscar_history`` cookie under
the shopper's consent, with Oscar's code unchanged."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from ..servers import ROOT, serve

pytest.importorskip(
    "oscar", reason="the Oscar shop's tests need django-oscar: pip install -e '.[oscar]'"
)

HISTORY = "oscar_history"
RECENTLY_VIEWED = "Products you recently viewed"
GUEST = "Tailor this visit"
HEALTH = "Use my interest in health products"
HEALTH_PRODUCT = "Pregnancy test kit"
BANNER_BUTTONS = ["Accept all", "Reject all", "Customise"]


@pytest.fixture(scope="module")
def oscar_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("oscar-shop")


@pytest.fixture(scope="module")
def shop_url(oscar_data: Path) -> Iterator[str]:
    """``python -m examples.oscar_shop`` preparing a new shop in a temporary directory: the
    shop the browser fixtures open here, instead of the demo shop."""
    env = {"OSCAR_SHOP_DATA": str(oscar_data), "CONSENT_SECRET_KEY": "oscar-browser-key-" * 3}
    # Oscar's migrations take a while on a busy machine.
    with serve("examples.oscar_shop", env, timeout=300) as url:
        yield url


@pytest.fixture(scope="module")
def paths(shop_url: str) -> dict[str, str]:
    """The page of every product and every category, by title, as Oscar's catalogue page
    links them."""
    html = httpx.get(shop_url + "/catalogue/").text
    products = re.findall(r'<a href="(/catalogue/[\w-]+/)" title="([^"]+)"', html)
    categories = re.findall(
        r'class="dropdown-item" href="(/catalogue/category/[\w-]+/)">([^<]+)<', html
    )
    return {title: path for path, title in products + categories}


def cookies(page: Page) -> dict[str, dict[str, object]]:
    return {str(c["name"]): dict(c) for c in page.context.cookies()}


def view(page: Page, paths: dict[str, str], *titles: str) -> None:
    """Open each product's page, as a shopper clicking through the shop."""
    for title in titles:
        page.goto(paths[title])
        expect(page.get_by_role("heading", level=1)).to_have_text(title)


def choose(page: Page, *ticked: str, untick: tuple[str, ...] = ()) -> None:
    """Tick (or untick) these purposes on the preference page and save."""
    page.goto("/consent?next=/catalogue/")
    for label in ticked:
        page.get_by_label(label).check()
    for label in untick:
        page.get_by_label(label).uncheck()
    page.get_by_role("button", name="Save choices").click()
    expect(page).to_have_url(re.compile(r"/catalogue/$"))


def reject_all(page: Page) -> None:
    """ "Reject all" through the footer's link, which comes back to this page."""
    page.locator("footer").get_by_role("link", name="Privacy choices").click()
    page.get_by_role("button", name="Reject all").click()


def shelf(page: Page, heading: str) -> list[str]:
    """The titles of the products under ``heading`` (none when it is not on the page)."""
    section = page.locator("section").filter(has=page.get_by_role("heading", name=heading))
    return [str(link.get_attribute("title")) for link in section.locator("h3 a").all()]


def why_texts(page: Page, heading: str) -> list[str]:
    """Every "Why am I seeing this?" under ``heading``, opened."""
    section = page.locator("section").filter(has=page.get_by_role("heading", name=heading))
    texts = []
    for details in section.locator("details.consent-why").all():
        details.locator("summary").click()
        texts.append(details.inner_text())
    return texts


# -- the shop itself ------------------------------------------------------------------------


def test_the_catalogue_has_its_categories_and_products(paths: dict[str, str]) -> None:
    categories = [t for t, path in paths.items() if "/category/" in path]
    assert len(paths) - len(categories) >= 24
    assert len(categories) >= 4 and "Health" in categories
    assert HEALTH_PRODUCT in paths


def test_preparing_again_changes_nothing(oscar_data: Path, paths: dict[str, str]) -> None:
    script = (
        "import django; django.setup(); "
        "from examples.oscar_shop.prepare import prepare; print(prepare())"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "examples.oscar_shop.settings",
        "OSCAR_SHOP_DATA": str(oscar_data),
    }
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    products = [t for t, path in paths.items() if "/category/" not in path]
    assert done.stdout.split() == [str(len(products))]


# -- the banner and the explanations on Oscar's pages ---------------------------------------


@pytest.mark.parametrize(
    "where", ["/catalogue/", "Health", "Sencha green tea", "/basket/", "/search/?q=tea"]
)
def test_oscar_pages_show_the_banner_and_the_privacy_link(
    page: Page, paths: dict[str, str], where: str
) -> None:
    path = paths.get(where, where)
    page.goto(path)
    banner = page.locator("section.consent-banner")
    expect(banner).to_be_visible()
    for label in BANNER_BUTTONS:
        expect(banner.get_by_role("button", name=label, exact=True)).to_be_visible()
    link = page.locator("footer").get_by_role("link", name="Privacy choices")
    expect(link).to_have_attribute("href", re.compile(r"^/consent\?next="))
    link.click()
    expect(page.get_by_label(GUEST)).not_to_be_checked()


def test_a_choice_on_an_oscar_page_comes_back_to_it(page: Page, paths: dict[str, str]) -> None:
    page.goto(paths["Earl Grey"])
    page.locator("section.consent-banner").get_by_role("button", name="Accept all").click()
    expect(page).to_have_url(re.compile(re.escape(paths["Earl Grey"]) + "$"))
    expect(page.locator("section.consent-banner")).to_have_count(0)
    state = page.request.get("/consent/state").json()
    assert state["purposes"]["session_personalisation"] is True
    # A sensitive purpose is never part of "Accept all".
    assert state["purposes"]["health_personalisation"] is False


def test_recommended_items_say_why_and_use_no_data(page: Page, paths: dict[str, str]) -> None:
    page.goto(paths["Sencha green tea"])
    recommended = shelf(page, "Recommended items")
    assert recommended == ["Jasmine pearls", "Assam breakfast tea", "Earl Grey"]
    texts = why_texts(page, "Recommended items")
    assert len(texts) == len(recommended)
    for text in texts:
        assert "The shop recommends it with Sencha green tea" in text
        assert "none of your data was used" in text


# -- oscar_history and "Products you recently viewed" --------------------------------------


def test_before_consent_nothing_viewed_is_listed(page: Page, paths: dict[str, str]) -> None:
    view(page, paths, "Sencha green tea", "Jasmine pearls", "Earl Grey")
    expect(page.get_by_role("heading", name=RECENTLY_VIEWED)).to_have_count(0)


def test_before_consent_oscar_history_is_not_set(page: Page, paths: dict[str, str]) -> None:
    view(page, paths, "Sencha green tea", "Jasmine pearls")
    assert HISTORY not in cookies(page)


def test_after_reject_all_in_the_banner_oscar_history_is_not_set(
    page: Page, paths: dict[str, str]
) -> None:
    page.goto(paths["Sencha green tea"])
    page.locator("section.consent-banner").get_by_role("button", name="Reject all").click()
    view(page, paths, "Jasmine pearls", "Earl Grey")
    assert HISTORY not in cookies(page)


def test_guest_mode_sets_oscar_history_and_lists_what_was_viewed(
    page: Page, paths: dict[str, str]
) -> None:
    choose(page, GUEST)
    view(page, paths, "Sencha green tea", "Cast iron teapot", "Earl Grey")
    history = cookies(page)[HISTORY]
    assert history["httpOnly"] is True
    assert history["expires"] == -1  # kept for the visit only, as "Tailor this visit" says
    assert shelf(page, RECENTLY_VIEWED) == ["Cast iron teapot", "Sencha green tea"]
    texts = why_texts(page, RECENTLY_VIEWED)
    assert "You viewed Cast iron teapot." in texts[0]
    for text in texts:
        assert "Products you viewed in this visit" in text
        assert f"under your choice \u201c{GUEST}\u201d" in text
        assert "kept for this visit only" in text


def test_reject_all_deletes_oscar_history_and_the_list(page: Page, paths: dict[str, str]) -> None:
    choose(page, GUEST)
    view(page, paths, "Sencha green tea", "Earl Grey")
    assert shelf(page, RECENTLY_VIEWED) == ["Sencha green tea"]
    assert HISTORY in cookies(page)
    page.goto("/catalogue/")  # a page that does not add to the history
    reject_all(page)
    expect(page).to_have_url(re.compile(r"/catalogue/$"))
    assert HISTORY not in cookies(page)
    view(page, paths, "Jasmine pearls")
    expect(page.get_by_role("heading", name=RECENTLY_VIEWED)).to_have_count(0)


def test_after_reject_all_oscar_history_stays_unset(page: Page, paths: dict[str, str]) -> None:
    choose(page, GUEST)
    view(page, paths, "Sencha green tea", "Earl Grey")
    assert HISTORY in cookies(page)
    reject_all(page)  # back on the product page, which Oscar adds to its history
    expect(page).to_have_url(re.compile(re.escape(paths["Earl Grey"]) + "$"))
    assert HISTORY not in cookies(page)
    view(page, paths, "Jasmine pearls")
    assert HISTORY not in cookies(page)


def test_health_products_are_kept_out_of_recently_viewed(page: Page, paths: dict[str, str]) -> None:
    page.goto(paths["Earl Grey"])
    page.locator("section.consent-banner").get_by_role("button", name="Accept all").click()
    view(page, paths, HEALTH_PRODUCT, "Vitamin D drops", "Sencha green tea", "Earl Grey")
    assert shelf(page, RECENTLY_VIEWED) == ["Sencha green tea"]
    expect(page.get_by_text(HEALTH_PRODUCT)).to_have_count(0)
    expect(page.get_by_text("Vitamin D drops")).to_have_count(0)


def test_health_products_are_listed_once_their_purpose_is_granted(
    page: Page, paths: dict[str, str]
) -> None:
    choose(page, GUEST, HEALTH)
    view(page, paths, HEALTH_PRODUCT, "Sencha green tea", "Earl Grey")
    assert shelf(page, RECENTLY_VIEWED) == ["Sencha green tea", HEALTH_PRODUCT]
    health = why_texts(page, RECENTLY_VIEWED)[1]
    assert f"You viewed {HEALTH_PRODUCT}, a health product" in health
    assert f"Health products you viewed in this visit, under your choice \u201c{HEALTH}\u201d" in (
        health
    )
    # Withdrawing the sensitive purpose alone takes them out again.
    choose(page, untick=(HEALTH,))
    view(page, paths, "Jasmine pearls")
    assert shelf(page, RECENTLY_VIEWED) == ["Earl Grey", "Sencha green tea"]
