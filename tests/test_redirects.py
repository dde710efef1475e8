from __future__ import annotations

import pytest

from consent_middleware.redirects import safe_next


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
    ],
)
def test_safe_next(value: str | None, expected: str) -> None:
    assert safe_next(value) == expected
