from __future__ import annotations

import pytest

from consent_middleware.http import private_cache_control, vary_cookie, with_cookies


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


def test_with_cookies_keeps_app_headers_and_order() -> None:
    headers = [("X-A", "1"), ("Cache-Control", "public"), ("Set-Cookie", "cart=1"), ("X-B", "2")]
    assert with_cookies(headers, ["consent=v"]) == [
        ("X-A", "1"),
        ("Set-Cookie", "cart=1"),
        ("X-B", "2"),
        ("Cache-Control", "private"),
        ("Set-Cookie", "consent=v"),
    ]
