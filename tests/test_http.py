from __future__ import annotations

import pytest

from consent_middleware.web.messages import (
    ResponseChanges,
    adjust_headers,
    private_cache_control,
    vary_cookie,
)


@pytest.mark.parametrize(
    ("existing", "expected"),
    [
        pytest.param(None, "private", id="absent"),
        pytest.param("public, max-age=60", "private, max-age=60", id="public"),
        pytest.param("max-age=60, s-maxage=600", "private, max-age=60", id="s-maxage"),
        pytest.param("no-store", "no-store", id="no-store"),
        pytest.param("private, max-age=5", "private, max-age=5", id="already-private"),
        pytest.param("no-cache, must-revalidate", "private, no-cache, must-revalidate", id="other"),
    ],
)
def test_private_cache_control(existing: str | None, expected: str) -> None:
    assert private_cache_control(existing) == expected


@pytest.mark.parametrize(
    ("existing", "expected"),
    [
        pytest.param(None, "Cookie", id="absent"),
        pytest.param("Accept-Encoding", "Accept-Encoding, Cookie", id="added"),
        pytest.param("accept-encoding, cookie", "accept-encoding, cookie", id="present"),
        pytest.param("*", "*", id="star"),
    ],
)
def test_vary_cookie(existing: str | None, expected: str) -> None:
    assert vary_cookie(existing) == expected


def test_adjust_headers_keeps_app_headers_and_order() -> None:
    headers = [
        ("X-A", "1"),
        ("Cache-Control", "public"),
        ("Vary", "Accept-Encoding"),
        ("Set-Cookie", "cart=1"),
        ("X-B", "2"),
    ]
    changes = ResponseChanges(cookies=("consent=v",), private=True, vary_cookie=True)
    assert adjust_headers(headers, changes) == [
        ("X-A", "1"),
        ("Set-Cookie", "cart=1"),
        ("X-B", "2"),
        ("Cache-Control", "private"),
        ("Vary", "Accept-Encoding, Cookie"),
        ("Set-Cookie", "consent=v"),
    ]


def test_adjust_headers_vary_only() -> None:
    headers = [("Cache-Control", "public, max-age=60")]
    changes = ResponseChanges(cookies=(), private=False, vary_cookie=True)
    assert adjust_headers(headers, changes) == [
        ("Cache-Control", "public, max-age=60"),
        ("Vary", "Cookie"),
    ]


def test_adjust_headers_nothing_to_do_returns_the_same_list() -> None:
    headers = [("X-A", "1")]
    changes = ResponseChanges(cookies=(), private=False, vary_cookie=False)
    assert adjust_headers(headers, changes) is headers
