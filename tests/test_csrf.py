from __future__ import annotations

import pytest

from consent_middleware.csrf import CsrfGuard, origin_allowed

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
        pytest.param("http://localhost:8000", None, "localhost:8000", True, id="dev-port"),
        pytest.param("https://SHOP.test", None, "shop.TEST", True, id="case"),
        pytest.param("https://evil.example", None, "shop.test", False, id="other-origin"),
        pytest.param("null", None, "shop.test", False, id="null-origin"),
        pytest.param("https://shop.test", "cross-site", "shop.test", False, id="cross-site"),
        pytest.param(None, "same-site", "shop.test", False, id="sibling-subdomain"),
        pytest.param("https://shop.test.evil.example", None, "shop.test", False, id="suffix"),
        pytest.param("https://shop.test", None, None, False, id="no-host"),
        pytest.param("ftp://shop.test", None, "shop.test", False, id="odd-scheme"),
        pytest.param("https://shop.test/path", None, "shop.test", False, id="with-path"),
        pytest.param("https://public.example", None, "10.0.0.5:8000", False, id="proxy-untrusted"),
    ],
)
def test_origin_allowed(
    origin: str | None, fetch_site: str | None, host: str | None, expected: bool
) -> None:
    assert origin_allowed(origin, fetch_site, host) is expected


def test_trusted_origin_behind_a_proxy() -> None:
    assert origin_allowed(
        "https://public.example", None, "10.0.0.5:8000", {"https://public.example"}
    )
