from __future__ import annotations

import pytest

from consent_middleware.core.csrf import CsrfGuard, origin_allowed

KEYS = [b"k" * 32]


def test_token_matches_only_its_nonce() -> None:
    guard = CsrfGuard(KEYS, "csrf")
    nonce = guard.new_nonce()
    token = guard.token_for(nonce)
    assert guard.check(token, nonce)
    assert not guard.check(token, guard.new_nonce())
    assert not guard.check(token, None)
    assert not guard.check(None, nonce)
    assert not guard.check(token + "x", nonce)
    assert not guard.check(nonce, nonce)
    assert not guard.check("é" + token, nonce)
    assert not CsrfGuard([b"z" * 32], "csrf").check(token, nonce)


@pytest.mark.parametrize(
    ("origin", "fetch_site", "host", "expected"),
    [
        pytest.param(None, None, "shop.test", True, id="no-headers"),
        pytest.param("https://shop.test", None, "shop.test", True, id="same-origin"),
        pytest.param("https://shop.test", "same-origin", "shop.test", True, id="fetch-same"),
        pytest.param(None, "none", "shop.test", True, id="fetch-none"),
        pytest.param("https://shop.test:443", None, "shop.test", True, id="default-port"),
        pytest.param("https://shop.test", None, "shop.test:443", True, id="host-default-port"),
        pytest.param("https://shop.test:8443", None, "shop.test:8443", True, id="own-port"),
        pytest.param("https://SHOP.test", None, "shop.TEST", True, id="case"),
        pytest.param("HTTPS://shop.test", None, "shop.test", True, id="scheme-case"),
        pytest.param("https://[::1]:8443", None, "[::1]:8443", True, id="ipv6"),
        pytest.param("https://evil.example", None, "shop.test", False, id="other-origin"),
        pytest.param("null", None, "shop.test", False, id="null-origin"),
        pytest.param("https://shop.test", "cross-site", "shop.test", False, id="cross-site"),
        pytest.param(None, "same-site", "shop.test", False, id="sibling-subdomain"),
        pytest.param("https://shop.test.evil.example", None, "shop.test", False, id="suffix"),
        pytest.param("https://shop.test", None, None, False, id="no-host"),
        pytest.param("ftp://shop.test", None, "shop.test", False, id="odd-scheme"),
        pytest.param("https://shop.test/path", None, "shop.test", False, id="with-path"),
        pytest.param("https://public.example", None, "10.0.0.5:8000", False, id="proxy-untrusted"),
        # The scheme and the port count, not only the host.
        pytest.param("http://shop.test", None, "shop.test", False, id="http-on-https-site"),
        pytest.param("https://shop.test:80", None, "shop.test", False, id="port-80-on-https"),
        pytest.param("https://shop.test:8443", None, "shop.test", False, id="other-port"),
        pytest.param("https://shop.test", None, "shop.test:8443", False, id="host-other-port"),
        pytest.param("http://shop.test:443", None, "shop.test", False, id="http-port-443"),
        pytest.param("https://shop.test:", None, "shop.test", False, id="empty-port"),
        pytest.param("https://shop.test:x", None, "shop.test", False, id="bad-port"),
        pytest.param("https://a@shop.test", None, "shop.test", False, id="user-info"),
        pytest.param("https://[::1", None, "[::1]", False, id="broken-ipv6"),
    ],
)
def test_origin_allowed_on_an_https_site(
    origin: str | None, fetch_site: str | None, host: str | None, expected: bool
) -> None:
    assert origin_allowed(origin, fetch_site, host, scheme="https") is expected


@pytest.mark.parametrize(
    ("origin", "host", "expected"),
    [
        pytest.param("http://localhost:8000", "localhost:8000", True, id="dev-port"),
        pytest.param("http://shop.test:80", "shop.test", True, id="default-port"),
        pytest.param("http://shop.test", "shop.test:80", True, id="host-default-port"),
        pytest.param("https://shop.test", "shop.test", False, id="https-on-http-site"),
        pytest.param("https://shop.test:80", "shop.test", False, id="https-port-80"),
        pytest.param("http://shop.test:443", "shop.test:443", True, id="odd-but-same"),
    ],
)
def test_origin_allowed_on_an_http_site(origin: str, host: str, expected: bool) -> None:
    assert origin_allowed(origin, None, host, scheme="http") is expected


@pytest.mark.parametrize(
    "origin", ["https://public.example", "https://public.example:443", "HTTPS://Public.Example"]
)
def test_trusted_origin_behind_a_proxy(origin: str) -> None:
    """A proxy that ends TLS and rewrites Host: the public origin is listed as trusted."""
    trusted = {"https://public.example"}
    assert origin_allowed(origin, None, "10.0.0.5:8000", trusted, scheme="http")
    assert not origin_allowed(
        "http://public.example", None, "10.0.0.5:8000", trusted, scheme="http"
    )
    assert not origin_allowed("https://public.example:8443", None, "x", trusted, scheme="http")
