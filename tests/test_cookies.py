from __future__ import annotations

import pytest

from consent_middleware.cookies import (
    cookie_names,
    cookie_values,
    delete_cookie,
    find_cookies,
    set_cookie,
)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        pytest.param("", {}, id="empty"),
        pytest.param("a=1", {"a": ["1"]}, id="one"),
        pytest.param("a=1; b=2", {"a": ["1"], "b": ["2"]}, id="two"),
        pytest.param("a=1; a=2", {"a": ["1", "2"]}, id="duplicate-kept"),
        pytest.param('a="quoted"', {"a": ['"quoted"']}, id="quoted-kept-as-sent"),
        pytest.param("  a = 1 ;b=2;", {"a": ["1"], "b": ["2"]}, id="spaces"),
        pytest.param("aa=1; xa=2", {}, id="name-inside-other-names"),
        pytest.param("a", {}, id="no-equals"),
        pytest.param("a=x=y", {"a": ["x=y"]}, id="equals-in-value"),
        pytest.param(";;;=;", {}, id="punctuation"),
    ],
)
def test_find_cookies(header: str, expected: dict[str, list[str]]) -> None:
    assert find_cookies(header, ("a", "b")) == expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        pytest.param("", [], id="empty"),
        pytest.param("c=1", ["1"], id="only"),
        pytest.param("a=1; c=2; b=3", ["2"], id="middle"),
        pytest.param("a=1;c=2", ["2"], id="no-space"),
        pytest.param("a=1;  c=2", ["2"], id="two-spaces"),
        pytest.param("xc=1", [], id="suffix-of-other-name"),
        pytest.param("xc=1; c=2", ["2"], id="after-suffix-of-other-name"),
        pytest.param("c=1; c=2", ["1", "2"], id="duplicate"),
        pytest.param("a=c=1", [], id="inside-a-value"),
        pytest.param("c_csrf=1", [], id="longer-name"),
        pytest.param("c=", [""], id="empty-value"),
    ],
)
def test_cookie_values(header: str, expected: list[str]) -> None:
    assert cookie_values(header, "c=") == expected


def test_cookie_names() -> None:
    assert cookie_names("a=1; _ga_X=2; bad; =3") == {"a", "_ga_X"}


def test_set_cookie_secure() -> None:
    assert set_cookie("__Host-consent", "v", max_age=60, secure=True) == (
        "__Host-consent=v; Path=/; Max-Age=60; HttpOnly; SameSite=Lax; Secure"
    )


def test_set_session_cookie_insecure() -> None:
    assert set_cookie("c", "v", max_age=None, secure=False) == "c=v; Path=/; HttpOnly; SameSite=Lax"


def test_delete_cookie_repeats_path_and_domain() -> None:
    assert delete_cookie("_ga", secure=True, domain=".shop.test") == (
        "_ga=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Domain=.shop.test; Secure"
    )
