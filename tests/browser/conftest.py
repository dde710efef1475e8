"""A real demo shop under uvicorn and Debian's Chromium driven by Playwright."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from ..servers import serve

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def shop_ledger(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The SQLite file the demo shop records into."""
    return tmp_path_factory.mktemp("ledger") / "consent.db"


@pytest.fixture(scope="session")
def shop_url(shop_ledger: Path) -> Iterator[str]:
    """``python -m examples.demo_shop`` as the README starts it."""
    env = {
        "CONSENT_SECRET_KEY": "browser-test-key-" * 3,
        "CONSENT_LEDGER": f"sqlite:///{shop_ledger}",
    }
    with serve("examples.demo_shop", env) as url:
        yield url


# Playwright's synchronous API keeps an event loop running while it is open; closing it
# with the last browser test lets the other tests use asyncio.run() again.
@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.skip(
            "browser tests need Debian's Chromium at /usr/bin/chromium (apt-get install chromium)"
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def context(browser: Browser, shop_url: str) -> Iterator[BrowserContext]:
    """A fresh browser profile: no cookies, JavaScript on."""
    context = browser.new_context(base_url=shop_url)
    yield context
    context.close()


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    page.close()
