"""What only the ASGI middleware has: scopes other than HTTP, mounting, streaming bodies."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.websockets import WebSocket

from consent_middleware import ConsentMiddleware, get_context
from consent_middleware.core.redirects import safe_next
from consent_middleware.web.endpoints import MAX_FORM_BYTES

from .conftest import KEY, make_cookie

Message = dict[str, Any]


def run_raw(app: Any, scope: dict[str, Any], messages: list[Message]) -> list[Message]:
    sent: list[Message] = []

    async def receive() -> Message:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent


def test_non_http_scopes_pass_through_untouched() -> None:
    seen: list[dict[str, Any]] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        seen.append(dict(scope))

    app = ConsentMiddleware(inner, secret_keys=[KEY])
    for scope in ({"type": "lifespan"}, {"type": "websocket", "path": "/", "headers": []}):
        run_raw(app, dict(scope), [])
    assert seen == [{"type": "lifespan"}, {"type": "websocket", "path": "/", "headers": []}]


def test_lifespan_and_websocket_work_under_starlette() -> None:
    started: list[bool] = []

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> Any:
        started.append(True)
        yield

    async def echo(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text("consent" in websocket.scope and "yes" or "no")
        await websocket.close()

    app = Starlette(routes=[WebSocketRoute("/ws", echo)], lifespan=lifespan)
    app.add_middleware(ConsentMiddleware, secret_keys=[KEY])
    sent = run_raw(
        app,
        {"type": "lifespan", "state": {}},
        [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}],
    )
    assert [m["type"] for m in sent] == [
        "lifespan.startup.complete",
        "lifespan.shutdown.complete",
    ]
    assert started == [True]
    ws_scope = {
        "type": "websocket",
        "path": "/ws",
        "root_path": "",
        "headers": [],
        "query_string": b"",
    }
    sent = run_raw(app, ws_scope, [{"type": "websocket.connect"}])
    assert sent[0]["type"] == "websocket.accept"
    assert sent[1]["type"] == "websocket.send"
    assert sent[1]["text"] == "no"


def test_add_middleware_and_mounted_app() -> None:
    async def home(request: Request) -> JSONResponse:
        ctx = get_context(request)
        return JSONResponse({"mode": ctx.mode, "root": request.scope.get("root_path")})

    shop = Starlette(routes=[Route("/", home)])
    shop.add_middleware(ConsentMiddleware, secret_keys=[KEY])
    outer = Starlette(routes=[Mount("/shop", app=shop)])

    async def go() -> tuple[httpx.Response, httpx.Response]:
        transport = httpx.ASGITransport(app=outer)
        async with httpx.AsyncClient(transport=transport, base_url="https://shop.test") as client:
            return await client.get("/shop/"), await client.get("/shop/consent")

    home_response, page = asyncio.run(go())
    assert home_response.json() == {"mode": "non_personalised", "root": "/shop"}
    assert page.status_code == 200
    assert 'action="/shop/consent"' in page.text


def _post_scope() -> dict[str, Any]:
    return {
        "type": "http",
        "method": "POST",
        "path": "/consent",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"content-type", b"application/x-www-form-urlencoded")],
    }


def test_client_that_goes_away_gets_no_response() -> None:
    app = ConsentMiddleware(Starlette(), secret_keys=[KEY])
    sent = run_raw(app, _post_scope(), [{"type": "http.request", "body": b"a", "more_body": True}])
    assert sent == []


def test_streamed_body_over_the_limit_is_413() -> None:
    app = ConsentMiddleware(Starlette(), secret_keys=[KEY])
    chunk = b"x" * 4096
    messages = [
        {"type": "http.request", "body": chunk, "more_body": True}
        for _ in range(MAX_FORM_BYTES // len(chunk) + 2)
    ]
    sent = run_raw(app, _post_scope(), messages)
    assert sent[0]["status"] == 413


def test_streamed_body_in_chunks_is_read_whole() -> None:
    app = ConsentMiddleware(Starlette(), secret_keys=[KEY])
    messages = [
        {"type": "http.request", "body": b"action=", "more_body": True},
        {"type": "http.request", "body": b"accept_all", "more_body": False},
    ]
    sent = run_raw(app, _post_scope(), messages)
    # No CSRF cookie: the form is read, then refused for its missing token.
    assert sent[0]["status"] == 403
    assert b"expired or was not sent" in sent[1]["body"]


def test_context_is_in_the_scope_under_its_contract_key() -> None:
    captured: list[Any] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        captured.append(scope["consent"])
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    scope = {"type": "http", "method": "GET", "path": "/", "query_string": b"", "headers": []}
    sent = run_raw(ConsentMiddleware(inner, secret_keys=[KEY]), scope, [])
    assert sent[0]["status"] == 204
    assert json.dumps(captured[0].mode) == '"non_personalised"'


def _decided(headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    """What the host app saw of the consent, for a raw request with these headers."""
    seen: dict[str, Any] = {}

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        ctx = scope["consent"]
        seen.update(decided=ctx.decided, granted=sorted(ctx.granted))
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    scope = {"type": "http", "method": "GET", "path": "/", "headers": headers}
    run_raw(ConsentMiddleware(inner, secret_keys=[KEY]), scope, [])
    return seen


def test_fifty_thousand_cookie_headers_still_give_the_right_cookie() -> None:
    """HTTP/2 sends each cookie as a header of its own: they are joined once, in order."""
    valid = make_cookie(("analytics",), decided_at=int(time.time()))
    noise = [(b"cookie", f"n{i}=v{i}".encode()) for i in range(50_000)]
    consent = (b"cookie", f"__Host-consent={valid}".encode())
    for headers in (noise + [consent], [consent] + noise, noise[:25_000] + [consent] + noise):
        assert _decided(headers) == {
            "decided": True,
            "granted": ["analytics", "necessary"],
        }
    other = make_cookie(("marketing",), decided_at=int(time.time()), consent_id="o" * 22)
    twice = [consent, *noise, (b"cookie", f"__Host-consent={other}".encode())]
    assert _decided(twice)["decided"] is False


def test_secure_false_behind_a_tls_proxy_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="consent_middleware")

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    app = ConsentMiddleware(inner, secret_keys=[KEY], secure=False)

    def warnings_after(headers: list[tuple[bytes, bytes]]) -> int:
        scope = {"type": "http", "scheme": "http", "method": "GET", "path": "/"}
        run_raw(app, {**scope, "headers": headers}, [])
        return sum("remove secure=False" in r.getMessage() for r in caplog.records)

    assert warnings_after([]) == 0
    assert warnings_after([(b"x-forwarded-proto", b"http")]) == 0
    assert warnings_after([(b"x-forwarded-proto", b"https")]) == 1
    assert warnings_after([(b"x-forwarded-proto", b"https")]) == 1


def test_mounted_app_sends_the_shopper_back_to_the_mounted_page_and_query() -> None:
    async def where(request: Request) -> JSONResponse:
        ctx = get_context(request)
        return JSONResponse({"path": ctx.path, "change_url": ctx.change_url()})

    shop = Starlette(routes=[Route("/products/{name}", where)])
    shop.add_middleware(ConsentMiddleware, secret_keys=[KEY])
    outer = Starlette(routes=[Mount("/shop", app=shop)])

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=outer)
        async with httpx.AsyncClient(transport=transport, base_url="https://shop.test") as client:
            return await client.get("/shop/products/x?page=2")

    assert asyncio.run(go()).json() == {
        "path": "/shop/products/x?page=2",
        "change_url": "/shop/consent?next=%2Fshop%2Fproducts%2Fx%3Fpage%3D2",
    }


def _path_seen(scope: dict[str, Any]) -> str:
    seen: list[str] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["consent"].path)
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    base = {"type": "http", "method": "GET", "root_path": "", "query_string": b"", "headers": []}
    run_raw(ConsentMiddleware(inner, secret_keys=[KEY]), {**base, **scope}, [])
    return seen[0]


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        pytest.param({"path": "/p", "query_string": b"page=2"}, "/p?page=2", id="query"),
        pytest.param({"path": "/p"}, "/p", id="no-query"),
        pytest.param(
            {"path": "/shop/p", "root_path": "/shop", "query_string": b"a=1"},
            "/shop/p?a=1",
            id="mount-point-in-path",
        ),
        pytest.param(
            {"path": "/p", "root_path": "/shop", "query_string": b"a=1"},
            "/shop/p?a=1",
            id="mount-point-apart",
        ),
        pytest.param({"path": "/caf\u00e9"}, "/caf%C3%A9", id="non-ascii-path"),
        pytest.param({"path": "/a b", "query_string": b"q=a b"}, "/a%20b?q=a%20b", id="spaces"),
    ],
)
def test_context_path_is_the_path_and_query(scope: dict[str, Any], expected: str) -> None:
    assert _path_seen(scope) == expected


@pytest.mark.parametrize(
    "query",
    [
        b'x="><script>alert(1)</script>',
        b"x=1\r\nSet-Cookie: a=b",
        b"x=1#//evil.example",
        b"x=\xff\x00\t1",
        b"next=//evil.example&x=/../..",
    ],
)
def test_a_hostile_query_stays_inside_the_return_path(query: bytes) -> None:
    path = _path_seen({"path": "/products/x", "query_string": query})
    assert path.startswith("/products/x?")
    assert not set(path) & set('"<> \t\r\n#\x00\xff')
    assert safe_next(path) == path


def _start_sent(app_start: Message, *, reads: bool = True) -> Message:
    """The response start the server gets when a returning visitor's page sends
    ``app_start`` (after reading the consent when ``reads``), undeclared cookies blocked."""

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        if reads:
            assert get_context(scope).mode.value == "non_personalised"
        await send(app_start)
        await send({"type": "http.response.body", "body": b""})

    cookie = f"__Host-consent={make_cookie(('analytics',), decided_at=int(time.time()))}"
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"shop.test"), (b"cookie", cookie.encode())],
    }
    middleware = ConsentMiddleware(inner, secret_keys=[KEY], undeclared_cookies="block")
    return run_raw(middleware, scope, [])[0]


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        pytest.param([], [(b"vary", b"Cookie")], id="none"),
        pytest.param(
            [(b"vary", b"Accept-Encoding")], [(b"vary", b"Accept-Encoding, Cookie")], id="vary"
        ),
        pytest.param(
            [(b"x-trace-id", b"7")], [(b"x-trace-id", b"7"), (b"vary", b"Cookie")], id="ten-long"
        ),
        pytest.param(
            [(b"Set-Cookie", b"_ga=1"), (b"x-shop", b"kept")],
            [(b"x-shop", b"kept"), (b"vary", b"Cookie")],
            id="capitalised-set-cookie",
        ),
        pytest.param(
            ((b"content-type", b"text/plain"),),
            [(b"content-type", b"text/plain"), (b"vary", b"Cookie")],
            id="tuple",
        ),
    ],
)
def test_a_returning_visitors_page_varies_and_keeps_only_allowed_cookies(
    headers: Any, expected: list[tuple[bytes, bytes]]
) -> None:
    start = _start_sent({"type": "http.response.start", "status": 200, "headers": headers})
    assert [(bytes(n).lower(), bytes(v)) for n, v in start["headers"]] == expected


def test_a_page_without_headers_gets_its_vary() -> None:
    start = _start_sent({"type": "http.response.start", "status": 200})
    assert start["headers"] == [(b"vary", b"Cookie")]


def test_a_page_that_does_not_read_the_consent_is_left_alone() -> None:
    headers = [(b"x-trace-id", b"7"), (b"vary", b"Accept-Encoding")]
    start = _start_sent(
        {"type": "http.response.start", "status": 200, "headers": headers}, reads=False
    )
    assert start["headers"] == headers
