"""The Django middleware through Django's test clients: the context on sync and async
requests, the endpoints, CSRF with and without CsrfViewMiddleware, Django's cache."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from asgiref.sync import iscoroutinefunction
from django.http import HttpRequest, HttpResponse
from django.test import AsyncClient, Client, override_settings

from consent_middleware import ConsentPolicy, MiddlewareNotInstalled, get_context
from consent_middleware.django import ConsentMiddleware
from consent_middleware.ledger.sqlite import SQLiteLedger

from .conftest import KEY, make_cookie
from .django_project import setup, views

setup()

POLICY = ConsentPolicy.from_toml(Path(__file__).parent.parent / "examples" / "policy.toml")
CONSENT = "consent_middleware.django.ConsentMiddleware"
TRACKED = "tests.test_django.TrackedMiddleware"
CSRF = "django.middleware.csrf.CsrfViewMiddleware"
# What Django's test clients call the server (the async one always sends it as Host).
HOST = "testserver"
ORIGIN = f"http://{HOST}"
NOW = int(time.time())
FORM = "application/x-www-form-urlencoded"


class TrackedMiddleware(ConsentMiddleware):
    """The middleware, kept in a list so that a test can close what it opened."""

    made: list[ConsentMiddleware] = []

    def __init__(self, get_response: Any) -> None:
        super().__init__(get_response)
        self.made.append(self)


Configure = Callable[..., None]


@pytest.fixture
def configure() -> Iterator[Configure]:
    """Settings for the rest of the test: ``CONSENT_MIDDLEWARE`` options (plain HTTP, the
    example policy) and, optionally, ``MIDDLEWARE`` and others."""
    active: list[override_settings] = []

    def apply(middleware: list[str] | None = None, settings: Any = None, **options: Any) -> None:
        options = {"secret_keys": [KEY], "secure": False, "policy": POLICY, **options}
        values = {"CONSENT_MIDDLEWARE": options, **(settings or {})}
        if middleware is not None:
            values["MIDDLEWARE"] = middleware
        override = override_settings(**values)
        override.enable()
        active.append(override)

    yield apply
    for middleware in TrackedMiddleware.made:
        middleware.close()
    TrackedMiddleware.made.clear()
    for override in reversed(active):
        override.disable()


def client(*, enforce_csrf_checks: bool = False) -> Client:
    return Client(enforce_csrf_checks=enforce_csrf_checks, headers={"Host": HOST})


def cookie_value(response: HttpResponse, name: str) -> str | None:
    morsel = response.cookies.get(name)
    return None if morsel is None else str(morsel.value)


def csrf_token(browser: Client) -> str:
    page = browser.get("/consent")
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.content.decode())
    assert found
    return found.group(1)


def post(browser: Client, path: str, fields: list[tuple[str, str]], **headers: str) -> Any:
    """A form as browsers send it (the test client's default is multipart)."""
    return browser.post(path, urlencode(fields), content_type=FORM, headers=headers)


def choose(browser: Client, action: str, *extra: tuple[str, str], **headers: str) -> Any:
    fields = [("action", action), ("csrf_token", csrf_token(browser)), ("next", "/greeting")]
    return post(browser, "/consent", [*fields, *extra], **{"Origin": ORIGIN, **headers})


# -- the context on a request -------------------------------------------------------------


def test_get_context_and_request_consent_on_a_wsgi_request(configure: Configure) -> None:
    configure()
    seen = client().get("/identity").json()
    assert seen == {"request": "WSGIRequest", "same": True, "mode": "non_personalised"}


def test_get_context_and_request_consent_on_an_asgi_request(configure: Configure) -> None:
    configure()
    cookie = make_cookie(("personalisation",), decided_at=NOW, policy=POLICY)

    async def visit() -> Any:
        # Headers for each request: AsyncClient(headers=...) sends them under other names.
        response = await AsyncClient().get("/identity", headers={"Cookie": f"consent={cookie}"})
        return response.json()

    seen = asyncio.run(visit())
    assert seen == {"request": "ASGIRequest", "same": True, "mode": "personalised"}


def test_the_middleware_is_sync_or_async_as_its_chain_is() -> None:
    def view(request: HttpRequest) -> HttpResponse:
        return HttpResponse(request.consent.mode.value)  # type: ignore[attr-defined]

    async def async_view(request: HttpRequest) -> HttpResponse:
        return view(request)

    sync = ConsentMiddleware(view)
    assert not iscoroutinefunction(sync)
    request = HttpRequest()  # a bare request: the context is on request.consent
    request.method = "GET"
    response = sync(request)
    assert response.content == b"non_personalised"

    both = ConsentMiddleware(async_view)
    assert iscoroutinefunction(both)
    response = asyncio.run(both(HttpRequest()))
    assert response.content == b"non_personalised"


def test_get_context_on_a_bare_request_and_without_the_middleware() -> None:
    seen: list[Any] = []

    def view(request: HttpRequest) -> HttpResponse:
        seen.append(get_context(request))
        return HttpResponse("ok")

    request = HttpRequest()
    request.method = "GET"
    ConsentMiddleware(view)(request)
    assert seen == [request.consent]  # type: ignore[attr-defined]
    with pytest.raises(MiddlewareNotInstalled, match="to Django's MIDDLEWARE"):
        get_context(HttpRequest())


@pytest.mark.parametrize(
    ("granted", "mode"),
    [
        pytest.param(("personalisation",), "personalised", id="personalised"),
        pytest.param(("session_personalisation",), "session", id="session"),
        pytest.param(("analytics",), "non_personalised", id="analytics-only"),
        pytest.param(None, "non_personalised", id="undecided"),
    ],
)
@pytest.mark.parametrize("kind", ["sync", "async"])
def test_every_mode(
    configure: Configure, granted: tuple[str, ...] | None, mode: str, kind: str
) -> None:
    configure()
    headers = {"Host": HOST}
    if granted is not None:
        headers["Cookie"] = f"consent={make_cookie(granted, decided_at=NOW, policy=POLICY)}"
    if kind == "sync":
        response = Client(headers=headers).get("/greeting")
    else:
        del headers["Host"]  # the async client sends its own
        response = asyncio.run(AsyncClient().get("/greeting", headers=headers))
    assert response.content.decode() == f"Hello, {mode} shopper"
    assert response["Vary"] == "Cookie"


# -- the endpoints ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_choose_then_withdraw(configure: Configure, kind: str, tmp_path: Path) -> None:
    configure(ledger=f"sqlite:///{tmp_path}/consent.db", middleware=[TRACKED])
    browser = client()
    if kind == "async":
        # The same steps through Django's ASGI handler: the ledger's commit off the loop.
        browser = _AsyncBrowser()  # type: ignore[assignment]
    accepted = choose(browser, "accept_all", ("method", "banner"))
    assert accepted.status_code == 303
    assert accepted["Location"] == "/greeting"
    assert accepted["Cache-Control"] == "no-store"
    line = accepted.cookies["consent"].OutputString()
    assert re.fullmatch(
        r"consent=[A-Za-z0-9._-]+; Path=/; Max-Age=15552000; HttpOnly; SameSite=Lax", line
    )
    assert browser.get("/greeting").content == b"Hello, personalised shopper"
    browser.get("/remember/tea")

    withdrawn = choose(browser, "save", ("purpose", "analytics"), ("method", "preference_centre"))
    assert withdrawn.status_code == 303
    deletions = [
        m.OutputString() for m in withdrawn.cookies.values() if "Max-Age=0" in m.OutputString()
    ]
    assert any(line.startswith("consent_visit=;") for line in deletions), deletions
    assert browser.get("/greeting").content == b"Hello, non_personalised shopper"

    ledger = SQLiteLedger(tmp_path / "consent.db")
    events = [(e.method, e.kind) for e in ledger.events()]
    ledger.close()
    assert events == [("banner", "given"), ("preference_centre", "withdrawn")]


class _AsyncBrowser:
    """Django's AsyncClient with the sync client's calls, for the same steps."""

    def __init__(self) -> None:
        self.client = AsyncClient()

    def get(self, path: str, **kwargs: Any) -> Any:
        return asyncio.run(self.client.get(path, **kwargs))

    def post(self, path: str, data: str, **kwargs: Any) -> Any:
        return asyncio.run(self.client.post(path, data, **kwargs))


def test_preference_page_state_and_gpc_file(configure: Configure) -> None:
    configure()
    browser = client()
    page = browser.get("/consent?next=/basket")
    assert page.status_code == 200
    text = page.content.decode()
    assert '<input type="hidden" name="next" value="/basket">' in text
    assert page["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in page["Content-Security-Policy"]
    assert browser.get("/consent/").status_code == 200
    state = browser.get("/consent/state")
    assert state["Content-Type"] == "application/json"
    assert json.loads(state.content)["decided"] is False
    gpc = browser.get("/.well-known/gpc.json")
    assert json.loads(gpc.content)["gpc"] is True
    assert browser.get("/consent/why").status_code == 200
    assert browser.put("/consent").status_code == 405


def test_data_download_and_erasure_with_the_hosts_hooks(
    configure: Configure, tmp_path: Path
) -> None:
    held = {"newsletter": "weekly"}
    configure(
        ledger=f"sqlite:///{tmp_path}/consent.db",
        data_exporters={"newsletter": lambda ctx: held.get("newsletter")},
        data_erasers={
            "newsletter": lambda ctx: (
                "Your newsletter subscription was deleted." if held.pop("newsletter", None) else ""
            )
        },
        middleware=[TRACKED],
    )
    browser = client()
    assert choose(browser, "accept_all").status_code == 303
    download = browser.get("/consent/data")
    assert download["Content-Disposition"] == 'attachment; filename="my-shop-data.json"'
    data = json.loads(download.content)
    assert data["host"] == {"newsletter": "weekly"}
    assert [e["kind"] for e in data["history"]] == ["given"]
    erased = post(browser, "/consent/forget", [("csrf_token", csrf_token(browser))], Origin=ORIGIN)
    assert erased.status_code == 200
    assert "Your newsletter subscription was deleted." in erased.content.decode()
    assert held == {}
    assert erased.cookies["consent"].OutputString().startswith("consent=; ")


def test_a_form_far_larger_than_a_consent_form_is_refused_unread(configure: Configure) -> None:
    configure()
    browser = client()
    token = csrf_token(browser)
    fields = [("action", "accept_all"), ("csrf_token", token), ("padding", "x" * 20000)]
    response = post(browser, "/consent", fields, Origin=ORIGIN)
    assert response.status_code == 413
    assert "consent" not in response.cookies


# -- CSRF, with Django's CsrfViewMiddleware before, after or absent ------------------------

ORDERS = [
    pytest.param([CONSENT], id="without-csrf-middleware"),
    pytest.param([CSRF, CONSENT], id="csrf-middleware-first"),
    pytest.param([CONSENT, CSRF], id="csrf-middleware-after"),
]


@pytest.mark.parametrize("middleware", ORDERS)
def test_our_forms_work_with_our_token_alone(configure: Configure, middleware: list[str]) -> None:
    configure(middleware=middleware)
    browser = client(enforce_csrf_checks=True)  # the test client skips Django's check else
    response = choose(browser, "reject_all")
    assert response.status_code == 303
    assert cookie_value(response, "consent")


@pytest.mark.parametrize("middleware", ORDERS)
@pytest.mark.parametrize(
    ("headers", "with_token"),
    [
        pytest.param({"Origin": "https://evil.test"}, True, id="other-origin"),
        pytest.param({"Origin": ORIGIN, "Sec-Fetch-Site": "cross-site"}, True, id="cross-site"),
        pytest.param({"Origin": ORIGIN}, False, id="no-token"),
    ],
)
def test_cross_site_posts_are_refused(
    configure: Configure, middleware: list[str], headers: dict[str, str], with_token: bool
) -> None:
    configure(middleware=middleware)
    browser = client(enforce_csrf_checks=True)
    fields = [("action", "accept_all"), ("next", "/")]
    if with_token:
        fields.append(("csrf_token", csrf_token(browser)))
    response = post(browser, "/consent", fields, **headers)
    assert response.status_code == 403
    assert "consent" not in response.cookies
    assert browser.get("/greeting").content == b"Hello, non_personalised shopper"


def test_django_still_guards_the_apps_own_forms(configure: Configure) -> None:
    configure(middleware=[CONSENT, CSRF])
    browser = client(enforce_csrf_checks=True)
    assert post(browser, "/form", [("x", "1")]).status_code == 403


def test_the_scheme_is_djangos_behind_a_proxy_it_trusts(configure: Configure) -> None:
    """An HTTPS page behind a proxy that ends TLS posts with an https Origin: accepted when
    SECURE_PROXY_SSL_HEADER tells Django (and so the middleware) to believe the proxy."""
    forwarded = {"Origin": f"https://{HOST}", "X-Forwarded-Proto": "https"}
    configure(secure=True)
    assert choose(client(), "reject_all", **forwarded).status_code == 403
    configure(
        secure=True, settings={"SECURE_PROXY_SSL_HEADER": ("HTTP_X_FORWARDED_PROTO", "https")}
    )
    assert choose(client(), "reject_all", **forwarded).status_code == 303


# -- the app's own cookies -----------------------------------------------------------------


def _raw_cookie_lines(
    line: str, cookie: str | None, asynchronous: bool, name: str = "Set-Cookie"
) -> list[str]:
    """The ``Set-Cookie`` lines of a response whose view put ``line`` in its headers."""
    headers = {} if cookie is None else {"Cookie": f"consent={cookie}"}
    query = {"line": line, "name": name}
    if asynchronous:

        async def visit() -> Any:
            return await AsyncClient().get("/raw-cookie", query, headers=headers)

        response = asyncio.run(visit())
    else:
        response = client().get("/raw-cookie", query, headers=headers)
    assert response.status_code == 200
    lines = [morsel.OutputString() for morsel in response.cookies.values()]
    return lines + [
        value for key, value in response.items() if key.strip(" \t").lower() == "set-cookie"
    ]


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_a_set_cookie_header_set_directly_is_screened(
    configure: Configure, asynchronous: bool
) -> None:
    configure()
    line = "_ga=GA1.1.42; Path=/; Max-Age=3600"
    assert _raw_cookie_lines(line, None, asynchronous) == []
    granted = make_cookie(("analytics",), decided_at=NOW, policy=POLICY)
    assert _raw_cookie_lines(line, granted, asynchronous) == [line]
    # Undeclared, it goes out (with a warning, by default).
    assert _raw_cookie_lines("cart=1; Path=/", None, asynchronous) == ["cart=1; Path=/"]
    # Browsers take a header name with blanks before the colon all the same.
    assert _raw_cookie_lines(line, None, asynchronous, name="set-cookie\t ") == []


# -- Django's cache middleware ------------------------------------------------------------

CACHED = [
    "django.middleware.cache.UpdateCacheMiddleware",
    CONSENT,
    "django.middleware.cache.FetchFromCacheMiddleware",
]


@pytest.fixture
def cached(configure: Configure) -> Iterator[None]:
    from django.core.cache import cache

    cache.clear()
    views.CALLS.clear()
    configure(middleware=CACHED)
    yield
    cache.clear()


def browser_with(*granted: str, visit: str | None = None) -> Client:
    """A browser that decided: its consent cookie (and its visit's), sent as a header."""
    consent_id = "id-" + "-".join(granted).replace("_", "-")
    cookie = "consent=" + make_cookie(granted, decided_at=NOW, policy=POLICY, consent_id=consent_id)
    if visit is not None:
        cookie += f"; consent_visit={visit}"
    return Client(headers={"Host": HOST, "Cookie": cookie})


def test_a_page_that_reads_the_mode_is_cached_per_cookie(cached: None) -> None:
    personalised = browser_with("personalisation")
    first = personalised.get("/greeting")
    assert first.content == b"Hello, personalised shopper"
    assert first["Vary"] == "Cookie"
    # Another browser is never given the first one's page.
    assert client().get("/greeting").content == b"Hello, non_personalised shopper"
    assert views.CALLS["greeting"] == 2
    # The same browser again: Django's cache answers, keyed by the cookie.
    assert personalised.get("/greeting").content == b"Hello, personalised shopper"
    assert views.CALLS["greeting"] == 2


def test_a_personal_page_is_never_cached(cached: None) -> None:
    noted = browser_with("session_personalisation").get("/remember/tea")
    assert noted["Cache-Control"] == "private"
    guest = browser_with("session_personalisation", visit=noted.cookies["consent_visit"].value)
    for _ in range(2):
        page = guest.get("/viewed")
        assert page.content.startswith(b"You viewed tea.")
        assert page["Cache-Control"] == "private"
        assert page["Vary"] == "Cookie"
    assert client().get("/viewed").content == b"Popular this week"
    from django.core.cache import cache

    assert not any("viewed" in str(key) for key in cache._cache)  # type: ignore[attr-defined]


def test_a_page_that_never_reads_consent_is_cached_for_everyone(cached: None) -> None:
    """The control: the cache does serve other browsers when the page does not vary."""
    first = browser_with("personalisation").get("/news")
    assert "Vary" not in first
    assert client().get("/news").content == b"Today's news"
    assert views.CALLS["news"] == 1


def test_our_cookie_lines_survive_djangos_pickling() -> None:
    """Django's cache pickles responses: our lines come back word for word."""
    import pickle

    from consent_middleware.django.responses import set_cookie_line

    response = HttpResponse("hello")
    response.set_cookie("_ga", "1")
    lines = ["_ga=; Path=/; Max-Age=0", "_ga=; Path=/; Max-Age=0; Domain=.shop.test"]
    for line in lines:
        set_cookie_line(response, line)
    restored = pickle.loads(pickle.dumps(response))
    written = [morsel.output(header="").strip() for morsel in restored.cookies.values()]
    assert written == ["_ga=1; Path=/", *lines]


@pytest.mark.parametrize("middleware", ORDERS)
def test_dont_use_this_and_use_again_through_django(
    configure: Configure, middleware: list[str], tmp_path: Path
) -> None:
    configure(
        ledger=f"sqlite:///{tmp_path}/consent.db",
        middleware=[TRACKED if m == CONSENT else m for m in middleware],
    )
    browser = client(enforce_csrf_checks=True)
    choose(browser, "save", ("purpose", "session_personalisation"))
    browser.get("/remember/tea")
    assert browser.get("/viewed").content.startswith(b"You viewed tea.")
    fields = [("action", "stop"), ("signal", "viewed_products"), ("next", "/viewed")]
    stopped = post(browser, "/consent/signals", [*fields, ("csrf_token", csrf_token(browser))])
    assert (stopped.status_code, stopped["Location"]) == (303, "/viewed")
    assert cookie_value(stopped, "consent_signals")
    assert browser.get("/viewed").content == b"Popular this week"
    refused = post(browser, "/consent/signals", fields, Origin=ORIGIN)  # no token
    assert refused.status_code == 403
    fields = [("action", "resume"), ("signal", "viewed_products")]
    resumed = post(browser, "/consent/signals", [*fields, ("csrf_token", csrf_token(browser))])
    assert resumed.status_code == 303
    assert browser.get("/viewed").content.startswith(b"You viewed nothing yet.")
    ledger = SQLiteLedger(tmp_path / "consent.db")
    kinds = [(e.kind, e.signal) for e in ledger.events()]
    ledger.close()
    assert kinds == [("given", ""), ("stopped", "viewed_products"), ("resumed", "viewed_products")]
