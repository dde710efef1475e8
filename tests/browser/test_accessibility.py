"""axe-core finds no serious or critical violation on the shopper's main pages."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

AXE = Axe()


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
    results = AXE.run(page)
    serious = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert serious == [], serious
