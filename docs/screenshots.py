"""Take the README's screenshots of the demo shop in Debian's Chromium.

    python docs/screenshots.py

Starts ``python -m examples.demo_shop`` on a free port and writes ``docs/banner.png``,
``docs/why.png`` and ``docs/preference-centre.png``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).parent.parent
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def main() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "CONSENT_SECRET_KEY": "screenshot-key-" * 4}
    server = subprocess.Popen(
        [sys.executable, "-m", "examples.demo_shop", "--port", str(port)], cwd=ROOT, env=env
    )
    try:
        for _ in range(300):
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
            page = browser.new_page(base_url=url, viewport={"width": 1100, "height": 700})
            page.goto("/")
            page.locator("section.consent-banner").screenshot(path=ROOT / "docs" / "banner.png")
            page.get_by_role("button", name="Reject all").click()
            page.goto("/consent?next=/")
            page.get_by_label("Tailor this visit").check()
            page.get_by_role("button", name="Save choices").click()
            page.goto("/products/walking-socks")
            page.goto("/")
            shelf = page.locator("section.shelf").first
            shelf.locator("details.consent-why").first.locator("summary").click()
            shelf.screenshot(path=ROOT / "docs" / "why.png")
            page.goto("/consent?next=/")
            page.locator("main").screenshot(path=ROOT / "docs" / "preference-centre.png")
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
