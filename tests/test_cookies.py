from __future__ import annotations

import json
import time

import pytest

from consent_middleware.core.cookies import (
    cookie_names,
    cookie_values,
    delete_cookie,
    find_all_cookies,
    find_cookies,
    set_cookie,
)

from .conftest import Driver, make_cookie


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


# One rule for every reader, the browsers' own: blanks around names and values are trimmed.
PARSER_TABLE = [
    ("c=1", ["1"]),
    ("c =1", ["1"]),
    ("c\t=1", ["1"]),
    (" c=1", ["1"]),
    ("c= 1 ", ["1"]),
    ("c=1 ; d=2", ["1"]),
    ("c=1;c =2", ["1", "2"]),
    ("c =2; c=1", ["2", "1"]),
    ("xc=1; c =2", ["2"]),
    ("xc =1; c=2", ["2"]),
    ("a=c; c=3", ["3"]),
    ("a=c =4", []),
    ("c", []),
    ("c;c=5", ["5"]),
    ("c_csrf=1; c =6", ["6"]),
    ("c=7;;c=8", ["7", "8"]),
    ("c=", [""]),
    ("c = ", [""]),
    ("=c; c=9", ["9"]),
    ("c=a=b", ["a=b"]),
    ("d=1;  c=10", ["10"]),
    ("d=1;\tc=11", ["11"]),
    ("c=\u00a012", ["\u00a012"]),
]


@pytest.mark.parametrize(("header", "expected"), PARSER_TABLE, ids=[h for h, _ in PARSER_TABLE])
def test_every_reader_agrees_on_each_header(header: str, expected: list[str]) -> None:
    assert cookie_values(header, "c=") == expected
    assert find_cookies(header, ("c",)).get("c", []) == expected
    assert find_all_cookies(header).get("c", []) == expected
    assert ("c" in cookie_names(header)) is bool(expected)


def test_a_padded_second_consent_cookie_is_a_duplicate(driver: Driver) -> None:
    """``consent =B`` is a second consent cookie to a browser: two different ones prove
    nothing, whichever spelling the second uses."""
    valid = make_cookie(("analytics",), decided_at=int(time.time()))
    other = make_cookie(("marketing",), decided_at=int(time.time()), consent_id="o" * 22)
    for header in [
        f"{driver.cookie_name}={valid}; {driver.cookie_name} ={other}",
        f"{driver.cookie_name} ={other}; {driver.cookie_name}={valid}",
    ]:
        result = driver.get("/", headers=[("Cookie", header)])
        assert json.loads(result.text)["decided"] is False, header
    padded = driver.get("/", headers=[("Cookie", f"{driver.cookie_name} = {valid} ")])
    assert json.loads(padded.text)["granted"] == ["analytics", "necessary"]
