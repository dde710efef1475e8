from __future__ import annotations

from urllib.parse import urljoin, urlsplit

import pytest

from consent_middleware.core.redirects import safe_next


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("/products/tea?x=1#top", "/products/tea?x=1#top", id="path"),
        pytest.param("/", "/", id="root"),
        pytest.param(None, "/", id="missing"),
        pytest.param("", "/", id="empty"),
        pytest.param("//evil.example", "/", id="network-path"),
        pytest.param("https://evil.example", "/", id="absolute"),
        pytest.param("/\\evil.example", "/", id="backslash"),
        pytest.param("\\\\evil.example", "/", id="double-backslash"),
        pytest.param("javascript:alert(1)", "/", id="javascript"),
        pytest.param("/\t/evil.example", "/", id="tab"),
        pytest.param("/\n/evil.example", "/", id="newline"),
        pytest.param(" /x", "/", id="leading-space"),
        pytest.param("products", "/", id="relative"),
        pytest.param("/caf\u00e9", "/", id="non-ascii"),
        pytest.param("/" + "a" * 3000, "/", id="too-long"),
        # Dot segments are resolved as the browser resolves them, then checked.
        pytest.param("/.//evil.example", "/", id="dot-then-network-path"),
        pytest.param("/./evil.example", "/evil.example", id="dot"),
        pytest.param("/..//evil.example", "/", id="dotdot-then-network-path"),
        pytest.param("/a/..//evil.example", "/", id="climb-then-network-path"),
        pytest.param("/a/b/../../..//evil.example", "/", id="climb-past-root"),
        pytest.param("/%2e//evil.example", "/", id="encoded-dot"),
        pytest.param("/%2E%2e//evil.example", "/", id="encoded-dotdot"),
        pytest.param("/.%2e//evil.example", "/", id="half-encoded-dotdot"),
        pytest.param("/././/evil.example", "/", id="two-dots"),
        pytest.param("/.//evil.example?x=1#top", "/", id="dot-with-query"),
        pytest.param("/a/./b/../c?x=/../..#/..", "/a/c?x=/../..#/..", id="resolved"),
        pytest.param("/a/..", "/", id="trailing-dotdot"),
        pytest.param("/a/.", "/a/", id="trailing-dot"),
        pytest.param("/..", "/", id="dotdot-at-root"),
        pytest.param("/...//x", "/...//x", id="three-dots-is-a-name"),
        pytest.param("/a//b", "/a//b", id="inner-double-slash"),
        pytest.param("/%2f/evil.example", "/", id="encoded-slash"),
        pytest.param("/%2F%2Fevil.example", "/", id="encoded-double-slash"),
        pytest.param("/%5c%5cevil.example", "/", id="encoded-backslash"),
        pytest.param("/.\\evil.example", "/", id="dot-backslash"),
        pytest.param("/search?q=a%2Fb", "/search?q=a%2Fb", id="encoded-slash-in-query"),
        pytest.param("/?//evil.example", "/?//evil.example", id="network-path-in-query"),
        pytest.param("/#//evil.example", "/#//evil.example", id="network-path-in-fragment"),
        pytest.param("/\x0b/evil.example", "/", id="vertical-tab"),
        pytest.param("/\x7f/evil.example", "/", id="delete"),
        pytest.param("/\u3002evil.example", "/", id="ideographic-full-stop"),
        pytest.param("/\uff0f/evil.example", "/", id="fullwidth-slash"),
        pytest.param("http:/evil.example", "/", id="scheme-one-slash"),
    ],
)
def test_safe_next(value: str | None, expected: str) -> None:
    assert safe_next(value) == expected


@pytest.mark.parametrize("prefix", ["/.", "/..", "/a/..", "/%2e", "/.%2E", "/./.", "/a/b/../.."])
@pytest.mark.parametrize("tail", ["//evil.example", "//evil.example/", "///evil.example"])
def test_no_dot_spelling_reaches_another_origin(prefix: str, tail: str) -> None:
    result = safe_next(prefix + tail)
    assert urlsplit(urljoin("https://shop.test/x/y", result)).netloc == "shop.test"
    assert result.startswith("/") and not result.startswith("//")
