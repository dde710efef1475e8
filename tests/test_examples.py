"""The examples and the benchmark work as their documentation says."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import webtest

from .servers import ROOT, serve
from .shopper import Shopper


@pytest.fixture
def minimal_shop() -> Iterator[str]:
    """``python -m examples.minimal`` as the README starts it: a real uvicorn server."""
    with serve("examples.minimal") as url:
        yield url


def test_minimal_shop_over_real_http(minimal_shop: str) -> None:
    with httpx.Client(base_url=minimal_shop) as client:
        first = client.get("/").text
        assert "<strong>non_personalised</strong>" in first
        assert 'class="consent-banner"' in first
        assert "none of your data was used" in first
        token = re.search(r'name="csrf_token" value="([^"]+)"', first)
        assert token
        chosen = client.post(
            "/consent",
            data={
                "action": "save",
                "purpose": "session_personalisation",
                "csrf_token": token.group(1),
                "next": "/",
            },
            headers={"Origin": minimal_shop},
        )
        assert chosen.status_code == 303
        assert chosen.headers["location"] == "/"
        assert client.get("/view/green-tea").status_code == 303
        home = client.get("/").text
        assert "<strong>session</strong>" in home
        assert 'class="consent-banner"' not in home
        assert "Because you viewed Green tea in this visit." in home
        assert "kept for this visit only" in home
        assert "Analytics would load here" not in home
        state = client.get("/consent/state").json()
        assert state["purposes"]["session_personalisation"] is True
        # Another site's form is refused and changes nothing.
        forged = client.post(
            "/consent",
            data={"action": "accept_all", "csrf_token": token.group(1)},
            headers={"Origin": "https://evil.example"},
        )
        assert forged.status_code == 403
        assert client.get("/consent/state").json()["purposes"]["analytics"] is False


@pytest.mark.parametrize(
    "module", ["examples.demo_shop", "examples.minimal", "examples.oscar_shop"]
)
def test_a_busy_port_is_one_line_naming_it_and_the_option(module: str, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", module, "--port", str(port)],
            cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode != 0
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1, result.stderr
    assert f"port {port} on 127.0.0.1 is already in use" in result.stderr
    assert "--port" in result.stderr
    assert list(tmp_path.iterdir()) == []  # nothing made, no ledger either


def test_flask_example() -> None:
    from examples.flask_minimal import app

    client = webtest.TestApp(app)
    page = client.get("/").text
    assert "Mode: non_personalised" in page
    assert 'class="consent-banner"' in page
    assert "analytics tag would load here" not in page
    assert client.get("/consent").status_int == 200


def benchmark(script: str, *arguments: str) -> str:
    """What ``python benchmarks/SCRIPT ARGUMENTS`` prints (small sizes: a smoke test)."""
    result = subprocess.run(
        [sys.executable, f"benchmarks/{script}", *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_overhead_benchmark_runs_and_prints_its_ratios() -> None:
    output = benchmark("overhead.py", "--requests", "20", "--rounds", "1")
    ratios = re.findall(r"^ratio .* = (-?\d+\.\d+)$", output, re.MULTILINE)
    assert len(ratios) == 6, output


def test_why_benchmark_runs_and_prints_its_figures() -> None:
    output = benchmark("why.py", "--items", "5", "--rounds", "2")
    figures = re.findall(r"^  why\(\) per item, (\w+) reasons: -?\d+\.\d+ us", output, re.M)
    assert figures == ["personal", "general"], output


def test_flask_shop_example() -> None:
    from examples.flask_shop.app import app

    client = webtest.TestApp(app)
    home = client.get("/")
    assert 'class="consent-banner"' in home.text
    assert home.text.count("Why am I seeing this?") == 8
    product = client.get("/products/sencha-green-tea")
    assert "<h1>Sencha green tea</h1>" in product.text
    assert "Often bought with Sencha green tea by all shoppers" in product.text
    assert "consent_visit" not in product.headers.get("Set-Cookie", "")
    assert client.get("/products/nope", expect_errors=True).status_int == 404


def test_http_load_check_runs_and_prints_its_figures() -> None:
    output = benchmark("http_load.py", "--seconds", "0.3", "--rounds", "1", "--concurrency", "2")
    lines = re.findall(r"^  (with|without) middleware .* errors: (\d+)$", output, re.M)
    assert sorted(kind for kind, _ in lines) == ["with", "without"], output
    assert all(errors == "0" for _, errors in lines), output
    assert re.search(r"^ratio with / without middleware = \d+\.\d+$", output, re.M)


def test_ledger_benchmark_runs_and_prints_its_figures() -> None:
    output = benchmark("ledger.py", "--events", "300", "--big", "3000")
    assert re.search(r"SQLite, kept \(durable on return\): +\d+ events/s", output)
    assert re.search(r"store down, journal \(synced\): +\d+ events/s", output)
    assert re.search(r"POST /consent, SQLite ledger: p50 [\d.]+ ms \(\+-?[\d.]+\)", output)
    assert re.search(r"export of one browser's history .* median [\d.]+ ms", output)
    assert re.search(r"GET /consent/data from the 3000-event ledger: [\d.]+ ms", output)


async def asgi_home(app: Any) -> str:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        return (await client.get("/")).text


def example_app(example: str, tmp_path: Path) -> Any:
    if example == "minimal":
        from examples.minimal import create_app

        return create_app()
    if example == "demo_shop":
        from examples.demo_shop import create_app as create_shop

        return create_shop(ledger=f"sqlite:///{tmp_path / 'c.db'}")
    if example == "flask_minimal":
        from examples.flask_minimal import app
    else:
        from examples.flask_shop.app import app
    return app


def undecided_home(example: str, tmp_path: Path) -> str:
    app = example_app(example, tmp_path)
    if example in ("minimal", "demo_shop"):
        return asyncio.run(asgi_home(app))
    return str(webtest.TestApp(app).get("/").text)


@pytest.mark.parametrize(
    ("example", "pages"),
    [
        ("minimal", ["/"]),
        ("demo_shop", ["/", "/products/sencha-green-tea"]),
        ("flask_minimal", ["/"]),
        ("flask_shop", ["/", "/products/sencha-green-tea"]),
    ],
)
def test_every_script_and_style_an_example_page_loads_is_there(
    example: str, pages: list[str], tmp_path: Path
) -> None:
    """Before and after "Accept all", which brings in the analytics and advertising tags."""
    loaded: set[str] = set()
    with Shopper(example_app(example, tmp_path)) as shopper:
        for accepted in (False, True):
            if accepted:
                assert shopper.choose("accept_all").status == 303
            for path in pages:
                page = shopper.get(path)
                assert page.status == 200
                for asset in page.local_assets():
                    assert shopper.get(asset).status == 200, f"{path} loads {asset}"
                    loaded.add(asset)
    if example == "flask_shop":
        assert "/static/analytics.js" in loaded


@pytest.mark.parametrize("example", ["minimal", "demo_shop", "flask_minimal", "flask_shop"])
def test_every_example_puts_the_banner_right_after_body(example: str, tmp_path: Path) -> None:
    """First in the page, first in the tab order: no link or field comes before it."""
    home = undecided_home(example, tmp_path)
    assert re.search(
        r"<body>\s*(<style>.*?</style>\s*)*<section class=\"consent-banner\"", home, re.S
    )


def test_the_threat_model_names_only_tests_that_exist() -> None:
    text = (ROOT / "docs" / "security.md").read_text()
    named = re.findall(r"`((?:browser/)?test_\w+\.py)::(\w+)`", text)
    assert len(named) > 50
    for file, test in named:
        source = (ROOT / "tests" / file).read_text()
        assert re.search(rf"^def {test}\(", source, re.M), f"{file}::{test}"
