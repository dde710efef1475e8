"""Screening the app's ``Set-Cookie`` lines: the rules, and what the adapters make of them."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from typing import Any

import pytest

from consent_middleware import (
    ConfigurationError,
    ConsentMiddleware,
    ConsentPolicy,
    ConsentWSGIMiddleware,
)
from consent_middleware.core.cookie_gate import (
    CookieGate,
    Verdict,
    is_set_cookie_header,
    set_cookie_name,
)
from consent_middleware.web.engine import ConsentEngine
from consent_middleware.web.messages import RequestInfo

from .conftest import KEY, make_cookie

NOW = time.time()


def policy() -> ConsentPolicy:
    owned = {"necessary": ("sid",), "analytics": ("_ga*", "shared"), "marketing": ("shared",)}
    purposes = [
        dataclasses.replace(p, cookies=owned.get(p.id, ()))
        for p in ConsentPolicy.default().purposes
    ]
    return ConsentPolicy(purposes, version="gate")


GATE = CookieGate(policy(), ["__Host-consent"], "warn")
NONE: frozenset[str] = frozenset({"necessary"})


@pytest.mark.parametrize(
    ("line", "granted", "verdict"),
    [
        ("_ga=1; Path=/", NONE, Verdict.REFUSED),
        ("_ga_XYZ=1", NONE, Verdict.REFUSED),
        ("_ga=1", NONE | {"analytics"}, Verdict.GRANTED),
        # Owned by two purposes: it goes out when either is granted.
        ("shared=1", NONE | {"marketing"}, Verdict.GRANTED),
        ("shared=1", NONE, Verdict.REFUSED),
        ("sid=abc; HttpOnly", NONE, Verdict.PASS),
        ("__Host-consent=x; Secure", NONE, Verdict.PASS),
        ("cart=1", NONE, Verdict.UNDECLARED),
        # Deletions need no consent; Max-Age wins over Expires.
        ("_ga=; Max-Age=0", NONE, Verdict.PASS),
        ("_ga=; max-age=-1", NONE, Verdict.PASS),
        ("_ga=; Expires=Thu, 01 Jan 1970 00:00:00 GMT", NONE, Verdict.PASS),
        ("_ga=1; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=60", NONE, Verdict.REFUSED),
        ("_ga=1; Expires=Fri, 01 Jan 2100 00:00:00 GMT", NONE, Verdict.REFUSED),
        ("_ga=1; Expires=never", NONE, Verdict.REFUSED),
        ("_ga=1; Max-Age=soon", NONE, Verdict.REFUSED),
        # Names as a browser reads them.
        (" _ga =1", NONE, Verdict.REFUSED),
        # A prefix the browser enforces does not hide a declared name.
        ("__Host-_ga=1; Path=/; Secure", NONE, Verdict.REFUSED),
        ("__Secure-shared=1; Secure", NONE | {"marketing"}, Verdict.GRANTED),
        ("__Host-sid=1; Path=/; Secure", NONE, Verdict.PASS),
        # Names are case-sensitive: "_GA" is not "_ga", and is reported as undeclared.
        ("_GA=1", NONE, Verdict.UNDECLARED),
        # No "=": a nameless cookie, "_ga" is its value.
        ("_ga", NONE, Verdict.UNDECLARED),
    ],
)
def test_verdicts(line: str, granted: frozenset[str], verdict: Verdict) -> None:
    assert GATE.verdict(line, granted, NOW) is verdict


# A date a browser reads as 10 hours from now, which the e-mail rules would read as 4 hours
# ago: browsers ignore the zone.
_SOON_WITH_A_ZONE = time.strftime("%a, %d %b %Y %H:%M:%S +1400", time.gmtime(NOW + 36000))


@pytest.mark.parametrize(
    "line",
    [
        pytest.param("_ga=1; Max-Age=0; Max-Age=3600", id="the-last-max-age-counts"),
        pytest.param("_ga=1; Expires=Thu, 01 Jan 69 00:00:00 GMT", id="year-69-is-2069"),
        pytest.param("_ga=1; Expires=Mon, 01 Jan 1600 00:00:00 GMT", id="year-before-1601"),
        pytest.param(f"_ga=1; Expires={_SOON_WITH_A_ZONE}", id="time-zone-ignored"),
        pytest.param("_ga=1; Max-Age=0" + "0" * 1100, id="max-age-too-long-is-ignored"),
        pytest.param("_ga=1; Max-Age=--5", id="max-age-two-minus"),
        pytest.param("_ga=1; Max-Age=\u00b2", id="max-age-not-an-ascii-digit"),
        pytest.param("_ga=1; Max-Age=" + "9" * 5000, id="max-age-beyond-the-int-limit"),
        pytest.param("_ga=1; Max-Age=-", id="max-age-minus-alone"),
        pytest.param("_ga=Max-Age=0; Path=/", id="max-age-in-the-value"),
        pytest.param('_ga="x; Max-Age=0"', id="max-age-in-a-quoted-value"),
        pytest.param('_ga="x; Max-Age=0"; Max-Age=60', id="quoted-then-a-real-max-age"),
        pytest.param("_ga=1; Max-Age=0 0", id="max-age-with-a-blank-inside"),
        pytest.param("_ga=1; Expires=Fri, 31 Feb 1990 00:00:00 GMT", id="no-such-day"),
    ],
)
def test_a_cookie_a_browser_keeps_is_never_taken_for_a_deletion(line: str) -> None:
    assert GATE.verdict(line, NONE, NOW) is Verdict.REFUSED


@pytest.mark.parametrize(
    "line",
    [
        "_ga=; Max-Age=3600; Max-Age=0",
        "_ga=; Max-Age=-0",
        "_ga=; max-age=00",
        "_ga=; Max-Age= 0",
        "_ga=; Max-Age=-" + "9" * 30,
        "_ga=; Max-Age=0x10; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
        "_ga=; Expires=Thu, 01-Jan-1970 00:00:01 GMT",
        "_ga=; expires=Thursday, 01-Jan-70 00:00:01 GMT",
        "_ga=; Expires=Thu Jan  1 00:00:00 1970",
        "_ga=; Expires=never; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
    ],
)
def test_deletions_in_every_form_a_browser_reads_pass(line: str) -> None:
    assert GATE.verdict(line, NONE, NOW) is Verdict.PASS


def test_undeclared_cookies_are_passed_or_blocked_as_asked() -> None:
    assert CookieGate(policy(), [], "allow").verdict("cart=1", NONE, NOW) is Verdict.PASS
    assert CookieGate(policy(), [], "block").verdict("cart=1", NONE, NOW) is Verdict.BLOCKED


def test_the_name_is_read_as_a_browser_reads_it() -> None:
    assert set_cookie_name(" a =b; Path=/") == "a"
    assert set_cookie_name("novalue; Path=/") == ""
    assert set_cookie_name("a=b=c") == "a"


@pytest.mark.parametrize(
    ("name", "sets"),
    [
        ("Set-Cookie", True),
        ("set-cookie", True),
        ("SET-COOKIE", True),
        # Chromium stores the cookie of "Set-Cookie : a=1", and waitress, wsgiref and
        # Werkzeug's server send such a name as the app spells it.
        ("Set-Cookie ", True),
        ("Set-Cookie\t", True),
        # Before the name, a blank makes the line part of the header above it.
        (" Set-Cookie", False),
        ("Set-Cookie2", False),
        ("X-Set-Cookie", False),
        ("Cookie", False),
    ],
)
def test_which_header_names_set_cookies(name: str, sets: bool) -> None:
    assert is_set_cookie_header(name) is sets


def test_a_set_cookie_name_with_blanks_is_screened_under_wsgi() -> None:
    def app(environ: Any, start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Set-Cookie ", "_ga=1"), ("X-Shop", "kept")])
        return [b"ok"]

    seen: list[Any] = []
    middleware = ConsentWSGIMiddleware(app, secret_keys=[KEY], policy=policy(), secure=False)
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/", "wsgi.url_scheme": "http"}
    assert list(middleware(environ, lambda status, headers, *_: seen.extend(headers))) == [b"ok"]
    assert [name for name, _ in seen] == ["X-Shop", "Vary"]


def test_logs_name_cookies_and_never_show_a_value(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="consent_middleware")
    engine = ConsentEngine(secret_keys=[KEY], policy=policy())
    ctx = engine.read(RequestInfo(method="GET", path="/"))
    lines = ["visitor-4242; Path=/", "_ga=visitor-4343", "cart=visitor-4444"]
    assert engine.screen_cookies(ctx, lines) == [True, False, True]
    logged = caplog.text
    assert "'_ga'" in logged and "'cart'" in logged and "without a name" in logged
    assert "visitor-" not in logged


def test_a_line_the_gate_cannot_read_is_dropped_not_a_failed_response(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def unreadable(self: CookieGate, line: str, granted: frozenset[str], now: float) -> Verdict:
        if "odd" in line:
            raise ValueError(f"cannot read {line}")
        return Verdict.PASS

    monkeypatch.setattr(CookieGate, "verdict", unreadable)
    engine = ConsentEngine(secret_keys=[KEY], policy=policy())
    ctx = engine.read(RequestInfo(method="GET", path="/"))
    assert engine.screen_cookies(ctx, ["sid=1", "odd=visitor-4545"]) == [True, False]
    assert "could not be read (ValueError)" in caplog.text
    assert "visitor-" not in caplog.text


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"undeclared_cookies": "drop"}, "undeclared_cookies must be one of 'allow', 'warn'"),
        ({"enforce_cookies": "yes"}, "enforce_cookies must be True or False"),
    ],
)
def test_bad_settings_are_refused_at_start_up(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        ConsentMiddleware(lambda *a: None, secret_keys=[KEY], **options)


def _asgi_start(start: dict[str, Any], cookie: str | None = None) -> list[tuple[Any, Any]]:
    """The headers the server is given when the app sends ``start``."""
    sent: list[dict[str, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send(start)
        await send({"type": "http.response.body", "body": b"ok"})

    async def receive() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    headers = [] if cookie is None else [(b"cookie", f"__Host-consent={cookie}".encode())]
    scope = {"type": "http", "method": "GET", "path": "/", "headers": headers}
    middleware = ConsentMiddleware(app, secret_keys=[KEY], policy=policy())
    asyncio.run(middleware(scope, receive, send))
    assert sent[1]["body"] == b"ok"
    return list(sent[0].get("headers", []))


def _names(headers: list[tuple[Any, Any]]) -> list[bytes]:
    return [
        bytes(name).lower() if not isinstance(name, str) else name.encode() for name, _ in headers
    ]


def test_a_response_start_without_headers_is_sent_as_it_is() -> None:
    # ASGI makes "headers" optional.
    start = {"type": "http.response.start", "status": 204}
    assert _asgi_start(start) == []
    assert _asgi_start(dict(start), make_cookie((), decided_at=int(NOW), policy=policy())) == []


@pytest.mark.parametrize(
    "headers",
    [
        # uvicorn's default protocol takes text as readily as bytes.
        pytest.param([("set-cookie", "_ga=1"), ("x-shop", "kept")], id="text"),
        pytest.param([("Set-Cookie", "_ga=1"), ("X-Shop", "kept")], id="text-capitalised"),
        pytest.param(((b"set-cookie", b"_ga=1"), (b"x-shop", b"kept")), id="tuple"),
        pytest.param([[b"set-cookie", b"_ga=1"], [b"x-shop", b"kept"]], id="lists"),
        pytest.param([(bytearray(b"Set-Cookie"), b"_ga=1"), (b"x-shop", b"kept")], id="bytearray"),
        pytest.param(iter([(b"set-cookie", b"_ga=1"), (b"x-shop", b"kept")]), id="iterator"),
    ],
)
def test_every_form_of_asgi_headers_is_screened(headers: Any) -> None:
    start = {"type": "http.response.start", "status": 200, "headers": headers}
    sent = _asgi_start(start)
    assert b"set-cookie" not in _names(sent)
    assert b"x-shop" in _names(sent)


@pytest.mark.parametrize("answer", ["websocket.accept", "websocket.http.response.start"])
def test_the_cookies_of_a_websocket_handshake_are_screened(answer: str) -> None:
    sent: list[dict[str, Any]] = []
    headers = [(b"set-cookie", b"_ga=1"), (b"set-cookie", b"sid=1")]

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": answer, "status": 403, "headers": list(headers)})

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.connect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    def handshake(granted: tuple[str, ...]) -> list[bytes]:
        sent.clear()
        cookie = make_cookie(granted, decided_at=int(NOW), policy=policy())
        scope = {
            "type": "websocket",
            "path": "/ws",
            "headers": [(b"cookie", f"__Host-consent={cookie}".encode())],
        }
        asyncio.run(
            ConsentMiddleware(app, secret_keys=[KEY], policy=policy())(scope, receive, send)
        )
        return [value for name, value in sent[0]["headers"] if name == b"set-cookie"]

    assert handshake(()) == [b"sid=1"]
    assert handshake(("analytics",)) == [b"_ga=1", b"sid=1"]


def test_a_set_cookie_header_in_any_case_is_screened_under_asgi() -> None:
    sent: list[dict[str, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        headers = [
            (b"Set-Cookie", b"_ga=1; Path=/"),
            (b"SET-COOKIE", b"_ga_2=1"),
            (b"set-cookie", b"sid=1"),
            (b"content-type", b"text/plain"),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"ok"})

    async def receive() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    cookie = make_cookie((), decided_at=int(NOW), policy=policy())
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "headers": [(b"cookie", f"__Host-consent={cookie}".encode())],
    }
    middleware = ConsentMiddleware(app, secret_keys=[KEY], policy=policy())
    asyncio.run(middleware(scope, receive, send))
    headers = [(name.lower(), value) for name, value in sent[0]["headers"]]
    assert [v for n, v in headers if n == b"set-cookie"] == [b"sid=1"]
    assert (b"vary", b"Cookie") in headers
    assert sent[1]["body"] == b"ok"
