"""What only the WSGI middleware has: environ handling and bodies without a length."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

import pytest

from consent_middleware import ConsentWSGIMiddleware, get_context
from consent_middleware.core.redirects import safe_next

from .apps import wsgi_app
from .conftest import KEY


def call(app: Any, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
    captured: list[Any] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        captured[:] = [status, headers]
        return lambda data: None

    body = b"".join(app(environ, start_response))
    return captured[0], captured[1], body


def base_environ(**extra: Any) -> dict[str, Any]:
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/",
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "shop.test",
        "SERVER_PORT": "443",
        "HTTP_HOST": "shop.test",
        "wsgi.url_scheme": "https",
        "wsgi.input": io.BytesIO(b""),
    }
    environ.update(extra)
    return environ


def test_context_is_in_the_environ_under_its_contract_key() -> None:
    environ = base_environ()
    status, _, _ = call(ConsentWSGIMiddleware(wsgi_app, secret_keys=[KEY]), environ)
    assert status == "200 OK"
    assert get_context(environ) is environ["consent_middleware.context"]


def test_mounted_under_script_name() -> None:
    app = ConsentWSGIMiddleware(wsgi_app, secret_keys=[KEY])
    status, _, body = call(app, base_environ(SCRIPT_NAME="/shop", PATH_INFO="/consent"))
    assert status == "200 OK"
    assert b'action="/shop/consent"' in body


def test_bad_content_length_reads_no_body() -> None:
    app = ConsentWSGIMiddleware(wsgi_app, secret_keys=[KEY])
    environ = base_environ(
        REQUEST_METHOD="POST",
        PATH_INFO="/consent",
        CONTENT_TYPE="application/x-www-form-urlencoded",
        CONTENT_LENGTH="many",
        **{"wsgi.input": io.BytesIO(b"action=accept_all")},
    )
    status, headers, _ = call(app, environ)
    # Read as an empty form, which carries no CSRF token.
    assert status == "403 Forbidden"
    assert not [h for h in headers if h[0] == "Set-Cookie"]


def test_declared_length_over_the_limit_is_413_unread() -> None:
    app = ConsentWSGIMiddleware(wsgi_app, secret_keys=[KEY])
    stream = io.BytesIO(b"x" * 10)
    environ = base_environ(
        REQUEST_METHOD="POST",
        PATH_INFO="/consent",
        CONTENT_TYPE="application/x-www-form-urlencoded",
        CONTENT_LENGTH=str(10**9),
        **{"wsgi.input": stream},
    )
    status, _, _ = call(app, environ)
    assert status == "413 Request Entity Too Large"
    assert stream.tell() == 0


def test_secure_false_behind_a_tls_proxy_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="consent_middleware")
    app = ConsentWSGIMiddleware(wsgi_app, secret_keys=[KEY], secure=False)

    def warnings_after(**extra: Any) -> int:
        call(app, base_environ(**{"wsgi.url_scheme": "http", **extra}))
        return sum("remove secure=False" in r.getMessage() for r in caplog.records)

    assert warnings_after() == 0
    assert warnings_after(HTTP_X_FORWARDED_PROTO="http") == 0
    assert warnings_after(HTTP_X_FORWARDED_PROTO="https, http") == 1
    assert warnings_after(HTTP_X_FORWARDED_PROTO="https") == 1
    assert warnings_after(**{"wsgi.url_scheme": "https"}) == 1


def _path_seen(**extra: Any) -> str:
    seen: list[str] = []

    def inner(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.append(get_context(environ).path)
        start_response("204 No Content", [])
        return []

    call(ConsentWSGIMiddleware(inner, secret_keys=[KEY]), base_environ(**extra))
    return seen[0]


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        pytest.param({"PATH_INFO": "/p", "QUERY_STRING": "page=2"}, "/p?page=2", id="query"),
        pytest.param({"PATH_INFO": "/p"}, "/p", id="no-query"),
        pytest.param(
            {"SCRIPT_NAME": "/shop", "PATH_INFO": "/products/x", "QUERY_STRING": "page=2"},
            "/shop/products/x?page=2",
            id="mounted",
        ),
        pytest.param({"SCRIPT_NAME": "/shop", "PATH_INFO": ""}, "/shop", id="mount-point"),
        # WSGI gives the path's bytes as Latin-1 characters.
        pytest.param({"PATH_INFO": "/caf\u00c3\u00a9"}, "/caf%C3%A9", id="non-ascii-path"),
    ],
)
def test_context_path_is_the_path_and_query(environ: dict[str, str], expected: str) -> None:
    assert _path_seen(**environ) == expected


def test_mounted_app_sends_the_shopper_back_to_the_mounted_page_and_query() -> None:
    app = ConsentWSGIMiddleware(wsgi_app, secret_keys=[KEY])
    environ = base_environ(SCRIPT_NAME="/shop", PATH_INFO="/where/x", QUERY_STRING="page=2")
    _, _, body = call(app, environ)
    assert json.loads(body) == {
        "path": "/shop/where/x?page=2",
        "change_url": "/shop/consent?next=%2Fshop%2Fwhere%2Fx%3Fpage%3D2",
    }


@pytest.mark.parametrize(
    "query",
    [
        'x="><script>alert(1)</script>',
        "x=1\r\nSet-Cookie: a=b",
        "x=1#//evil.example",
        "x=\xff\x00\t1",
        "next=//evil.example&x=/../..",
    ],
)
def test_a_hostile_query_stays_inside_the_return_path(query: str) -> None:
    path = _path_seen(PATH_INFO="/products/x", QUERY_STRING=query)
    assert path.startswith("/products/x?")
    assert not set(path) & set('"<> \t\r\n#\x00\xff')
    assert safe_next(path) == path
