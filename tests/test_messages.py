"""The request record both adapters build: what it reads from an ASGI scope and a WSGI
environ, and that the two agree."""

from __future__ import annotations

from typing import Any

import pytest

from consent_middleware.web.messages import RequestInfo


def scope(**extra: Any) -> dict[str, Any]:
    base = {
        "type": "http",
        "method": "POST",
        "scheme": "https",
        "path": "/shop/consent",
        "root_path": "/shop",
        "query_string": b"next=%2Fx&page=2",
        "headers": [
            (b"host", b"shop.test"),
            (b"cookie", b"a=1"),
            (b"sec-gpc", b"1"),
            (b"content-type", b"application/x-www-form-urlencoded"),
            (b"x-forwarded-proto", b"https"),
            (b"cookie", b"b=2"),
        ],
    }
    base.update(extra)
    return base


def environ(**extra: Any) -> dict[str, Any]:
    base = {
        "REQUEST_METHOD": "POST",
        "wsgi.url_scheme": "https",
        "SCRIPT_NAME": "/shop",
        "PATH_INFO": "/consent",
        "QUERY_STRING": "next=%2Fx&page=2",
        "HTTP_HOST": "shop.test",
        "HTTP_COOKIE": "a=1; b=2",
        "HTTP_SEC_GPC": "1",
        "CONTENT_TYPE": "application/x-www-form-urlencoded",
        "HTTP_X_FORWARDED_PROTO": "https",
    }
    base.update(extra)
    return base


@pytest.mark.parametrize(
    "request_info",
    [
        pytest.param(RequestInfo.from_scope(scope()), id="asgi"),
        pytest.param(RequestInfo.from_environ(environ()), id="wsgi"),
    ],
)
def test_both_adapters_read_the_same_request(request_info: RequestInfo) -> None:
    assert request_info.method == "POST"
    assert request_info.scheme == "https"
    assert request_info.root_path == "/shop"
    assert request_info.path == "/consent"
    assert request_info.query_string == "next=%2Fx&page=2"
    assert request_info.location == "/shop/consent?next=%2Fx&page=2"
    assert request_info.cookie_header == "a=1; b=2"
    assert list(request_info.gpc_values) == ["1"]
    assert request_info.forwarded_proto == "https"
    assert request_info.header("host") == "shop.test"
    assert request_info.header("content-type") == "application/x-www-form-urlencoded"
    assert request_info.header("origin") is None
    assert request_info.body == b""
    assert request_info.body_too_large is False


def test_a_scope_with_few_keys_reads_as_a_plain_get() -> None:
    request = RequestInfo.from_scope({"type": "http", "path": "/", "headers": []})
    assert (request.method, request.scheme, request.query_string) == ("GET", "http", "")
    assert (request.cookie_header, tuple(request.gpc_values)) == ("", ())
    assert request.forwarded_proto is None
    assert request.location == "/"


def test_every_value_of_a_repeated_header_is_kept_in_order() -> None:
    request = RequestInfo.from_scope(scope())
    assert request.headers["cookie"] == ["a=1", "b=2"]


def test_a_path_beside_the_mount_point_is_not_below_it() -> None:
    request = RequestInfo.from_scope(scope(path="/shopping", root_path="/shop"))
    assert request.path == "/shopping"
    assert request.location.startswith("/shop/shopping?")


def test_endpoints_can_build_a_record_by_hand() -> None:
    request = RequestInfo("POST", "a=1", {"origin": ["https://shop.test"]}, b"x=1")
    assert request.header("origin") == "https://shop.test"
    assert (request.query_string, request.body, request.scheme) == ("a=1", b"x=1", "http")
