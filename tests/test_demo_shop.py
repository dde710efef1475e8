"""The demo shop's suggestions in each mode, through its real ASGI app (the browser tests
cover the same shop as a shopper sees it)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from consent_middleware.ledger.sqlite import SQLiteLedger
from examples.demo_shop import create_app
from examples.demo_shop.catalogue import CATALOGUE

KEY = "demo-shop-test-key-" * 3
ORIGIN = "http://127.0.0.1"


@pytest.fixture(autouse=True)
def ledger_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "consent.db"
    monkeypatch.setenv("CONSENT_LEDGER", f"sqlite:///{path}")
    return path


def run(steps: Callable[[httpx.AsyncClient], Awaitable[Any]], **options: Any) -> Any:
    async def go() -> Any:
        transport = httpx.ASGITransport(app=create_app(KEY, **options))
        async with httpx.AsyncClient(transport=transport, base_url=ORIGIN) as client:
            return await steps(client)

    return asyncio.run(go())


async def choose(client: httpx.AsyncClient, *purposes: str, action: str = "save") -> None:
    page = await client.get("/consent")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    data = {"action": action, "csrf_token": token.group(1), "purpose": list(purposes)}
    answer = await client.post("/consent", data=data, headers={"Origin": ORIGIN})
    assert answer.status_code == 303


def headings(html: str) -> list[str]:
    return re.findall(r"<h2 id=\"shelf-[^\"]*\">([^<]+)</h2>", html)


def test_catalogue_has_forty_products_and_a_sensitive_category() -> None:
    assert len(CATALOGUE.products) >= 40
    assert CATALOGUE.sensitive_categories == {"Health"}
    assert len(CATALOGUE.categories) >= 5
    for product in CATALOGUE.products.values():
        assert all(slug in CATALOGUE.products for slug in product.also_bought)


def test_every_product_page_has_its_name_as_h1() -> None:
    async def steps(client: httpx.AsyncClient) -> None:
        for product in CATALOGUE.products.values():
            page = await client.get(f"/products/{product.slug}")
            assert page.status_code == 200
            assert f"<h1>{product.name}</h1>" in page.text
        assert (await client.get("/products/no-such-thing")).status_code == 404

    run(steps)


def test_undecided_shopper_gets_the_full_non_personalised_shop() -> None:
    async def steps(client: httpx.AsyncClient) -> None:
        await client.get("/products/sencha-green-tea")
        home = (await client.get("/")).text
        assert headings(home)[:2] == ["Bestsellers this week", "Sponsored"]
        assert len(headings(home)) == 2 + len(CATALOGUE.categories)
        assert "<strong>Sponsored by Kettle &amp; Co.</strong>" in home
        assert "It was not targeted at you: none of your data was used." in home
        assert home.count("Why am I seeing this?") == home.count('class="card"')
        assert "Because you" not in home
        assert "none of your data was used" in home
        assert "analytics.js" not in home and "pixel.js" not in home

    run(steps)


def test_health_views_are_used_only_under_their_own_purpose() -> None:
    async def without(client: httpx.AsyncClient) -> None:
        await choose(client, action="accept_all")
        await client.get("/products/vitamin-d3-tablets")
        home = (await client.get("/")).text
        assert "Health, as you asked" not in home
        assert "Vitamin D3" not in home.split("Bestsellers this week")[0]
        assert "Because you viewed Vitamin" not in home

    async def granted(client: httpx.AsyncClient) -> None:
        await choose(client, "personalisation", "health_personalisation")
        await client.get("/products/vitamin-d3-tablets")
        home = (await client.get("/")).text
        assert "Health, as you asked" in home
        assert "Because you looked at health products in this visit." in home
        assert "Because you viewed Vitamin" not in home

    run(without)
    run(granted)


def test_history_across_visits_when_personalised() -> None:
    async def steps(client: httpx.AsyncClient) -> None:
        await choose(client, "personalisation")
        await client.get("/products/copper-watering-can")
        # A new visit: the browser session ends, the visit cookie with it.
        client.cookies.delete("consent_visit")
        home = (await client.get("/")).text
        assert "From your earlier visits" in home
        assert "Because you viewed Copper watering can on an earlier visit." in home
        assert "in this visit" not in home

    run(steps)


def test_basket_works_in_every_mode() -> None:
    async def steps(client: httpx.AsyncClient) -> None:
        await choose(client, action="reject_all")
        added = await client.post("/basket/add", content=b"slug=enamel-mug")
        assert added.status_code == 303
        basket = (await client.get("/basket")).text
        assert "Enamel mug" in basket
        assert "Total: &pound;8.00" in basket

    run(steps)


def test_choices_are_recorded_and_can_be_downloaded_and_erased(ledger_in_tmp: Path) -> None:
    async def steps(client: httpx.AsyncClient) -> None:
        await choose(client, "session_personalisation", "analytics")
        await client.get("/products/walking-socks")
        data = (await client.get("/consent/data")).json()
        assert [h["kind"] for h in data["history"]] == ["given"]
        assert data["history"][0]["method"] == "api"
        assert data["visit"] == {"viewed_products": ["walking-socks"]}
        page = await client.get("/consent")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token
        erased = await client.post(
            "/consent/forget", data={"csrf_token": token.group(1)}, headers={"Origin": ORIGIN}
        )
        assert "Your consent history (1 choice) was deleted." in erased.text
        assert "consent" not in client.cookies
        assert (await client.get("/consent/state")).json()["decided"] is False

    run(steps)
    assert ledger_in_tmp.exists()


def test_suggestions_from_this_visit_offer_the_shoppers_controls() -> None:
    async def steps(client: httpx.AsyncClient) -> None:
        await choose(client, "session_personalisation", "marketing")
        await client.get("/products/jasmine-pearls")
        home = (await client.get("/")).text
        personal = home.split("Because you viewed Jasmine pearls</h2>")[1].split("</section>")[0]
        assert '<input type="hidden" name="value" value="jasmine-pearls">' in personal
        assert 'name="action" value="forget">Forget this item</button>' in personal
        assert 'name="action" value="stop">Don\'t use this</button>' in personal
        assert "What weighed most: Products you viewed in this visit." in personal
        assert 'value="pause">See suggestions without personalisation</button>' in home
        # Marketing allowed and a tea viewed: the paid placement says it was targeted.
        sponsored = home.split('id="shelf-sponsored">Sponsored</h2>')[1].split("</section>")[0]
        assert "Shown to you because you viewed Jasmine pearls in this visit." in sponsored
        assert "Targeted at you under your choice" in sponsored

    run(steps)


def test_outcomes_are_counted_per_mode(ledger_in_tmp: Path) -> None:
    app = create_app(KEY)

    async def steps() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=ORIGIN) as client:
            await client.get("/products/enamel-mug")
            await choose(client, "personalisation")
            await client.get("/products/enamel-mug")
            await client.post("/basket/add", content=b"slug=enamel-mug")

    asyncio.run(steps())
    app.close()
    counts = SQLiteLedger(ledger_in_tmp).counts()
    assert sorted((key[2], key[3], n) for key, n in counts) == [
        ("basket_add", "personalised", 1),
        ("product_view", "non_personalised", 1),
        ("product_view", "personalised", 1),
    ]


def test_with_segments_only_the_personal_shelves_name_an_interest_not_a_product() -> None:
    async def steps(client: httpx.AsyncClient) -> None:
        await choose(client, "personalisation")
        await client.get("/products/earl-grey")
        one = (await client.get("/")).text
        assert "Because you seem to like" not in one  # one tea is not yet an interest
        await client.get("/products/jasmine-pearls")
        home = (await client.get("/")).text
        assert headings(home)[0] == "Because you seem to like tea"
        assert "<p>Because you seem to like tea.</p>" in home
        assert "Because you viewed" not in home
        notes = re.findall(r"<details.*?</details>", home, re.DOTALL)
        assert notes and not any("Earl Grey" in note or "earl-grey" in note for note in notes)

    run(steps, segments=True)


def test_the_region_headers_bring_the_regional_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONSENT_REGION_HEADER", "CF-IPCountry")
    monkeypatch.setenv("CONSENT_REGION_SUBDIVISION_HEADER", "CF-Region-Code")

    async def steps(client: httpx.AsyncClient) -> tuple[str, str]:
        california = await client.get("/", headers={"CF-IPCountry": "US", "CF-Region-Code": "CA"})
        germany = await client.get("/", headers={"CF-IPCountry": "DE"})
        return california.text, germany.text

    california, germany = run(steps)
    assert "Do Not Sell or Share My Personal Information" in california
    assert "Offer for you" in california
    assert "Accept all" in germany and "Offer for you" not in germany
