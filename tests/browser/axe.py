"""The accessibility check the browser tests share: axe-core on the page as it stands."""

from __future__ import annotations

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

AXE = Axe()


def assert_no_serious_violations(page: Page) -> None:
    """Fail with axe-core's serious and critical findings on ``page``, if any."""
    results = AXE.run(page)
    serious = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert serious == [], serious
