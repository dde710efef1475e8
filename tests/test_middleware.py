"""The same behaviour through the ASGI middleware (Starlette, httpx) and the WSGI one
(plain WSGI and Flask, WebTest): every test runs once per host app."""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import time
from pathlib import Path
from typing import Any

import pytest

from consent_middleware import ConsentPolicy

from .conftest import KEY, OLD_KEY, Driver, DriverFactory, Result, make_cookie

NOW = int(time.time())
ALL = ("session_personalisation", "personalisation", "analytics", "marketing")


def decoded_grants(driver: Driver, value: str) -> list[str]:
    return driver.mode(value)["granted"]  # type: ignore[no-any-return]


# -- reading the cookie -------------------------------------------------------------------


def test_no_cookie_is_undecided_and_sets_nothing(driver: Driver) -> None:
    result = driver.get("/")
    assert json.loads(result.text) == {
        "mode": "non_personalised",
        "decided": False,
        "gpc": False,
        "granted": ["necessary"],
    }
    assert result.set_cookies == []
    assert result.header("cache-control") is None


@pytest.mark.parametrize(
    ("granted", "mode"),
    [
        pytest.param(("personalisation",), "personalised", id="personalised"),
        pytest.param(("session_personalisation",), "session", id="session"),
        pytest.param(("analytics",), "non_personalised", id="analytics-only"),
        pytest.param((), "non_personalised", id="rejected"),
    ],
)
def test_valid_cookie_gives_its_mode(driver: Driver, granted: tuple[str, ...], mode: str) -> None:
    seen = driver.mode(make_cookie(granted, decided_at=NOW))
    assert seen["mode"] == mode
    assert seen["decided"] is True


def test_every_tampered_position_falls_back_to_non_personalised(driver: Driver) -> None:
    value = make_cookie(ALL, decided_at=NOW)
    assert driver.mode(value)["mode"] == "personalised"
    for position, char in enumerate(value):
        replacement = "A" if char != "A" else "B"
        tampered = value[:position] + replacement + value[position + 1 :]
        seen = driver.mode(tampered)
        assert seen["granted"] == ["necessary"], position
        assert seen["decided"] is False


@pytest.mark.parametrize(
    ("cookie", "case"),
    [
        pytest.param(lambda: make_cookie(ALL, decided_at=NOW, keys=["w" * 40]), "wrong-key"),
        pytest.param(lambda: make_cookie(ALL, decided_at=NOW - 181 * 86400), "expired"),
        pytest.param(
            lambda: make_cookie(ALL, decided_at=NOW, policy=ConsentPolicy.default(version="old")),
            "other-version",
        ),
        pytest.param(lambda: "A" * 5000, "oversized"),
        pytest.param(lambda: '%%%;;\\"', "garbage"),
        pytest.param(lambda: "", "empty"),
    ],
    ids=lambda case: case if isinstance(case, str) else "",
)
def test_invalid_cookies_are_undecided(driver: Driver, cookie: object, case: str) -> None:
    value = cookie()  # type: ignore[operator]
    result = driver.get("/", cookies={driver.cookie_name: value})
    assert result.status == 200
    assert json.loads(result.text)["decided"] is False
    assert json.loads(result.text)["mode"] == "non_personalised"


def test_rotated_key(make_driver: DriverFactory) -> None:
    old = make_cookie(ALL, decided_at=NOW, keys=[OLD_KEY])
    assert make_driver(secret_keys=[KEY, OLD_KEY]).mode(old)["decided"] is True
    assert make_driver(secret_keys=[KEY]).mode(old)["decided"] is False
    # After rotation the newest key signs: a cookie written now verifies with the new key alone.
    written = make_driver(secret_keys=[KEY, OLD_KEY]).decide("accept_all")
    assert make_driver(secret_keys=[KEY]).mode(written)["decided"] is True


def test_duplicate_cookies(driver: Driver) -> None:
    value = make_cookie(ALL, decided_at=NOW)
    other = make_cookie((), decided_at=NOW)
    name = driver.cookie_name
    same = driver.get("/", headers=[("Cookie", f"{name}={value}; {name}={value}")])
    assert json.loads(same.text)["mode"] == "personalised"
    differing = driver.get("/", headers=[("Cookie", f"{name}={value}; {name}={other}")])
    assert json.loads(differing.text)["decided"] is False


def test_cookie_under_another_name_is_ignored(make_driver: DriverFactory) -> None:
    insecure = make_driver(secure=False)
    value = make_cookie(ALL, decided_at=NOW)
    assert insecure.mode(value)["decided"] is True
    # The secure middleware reads only the __Host- cookie.
    secure = make_driver()
    result = secure.get("/", cookies={"consent": value})
    assert json.loads(result.text)["decided"] is False


# -- GPC ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "on"),
    [
        pytest.param(["1"], True, id="1"),
        pytest.param(["0"], False, id="0"),
        pytest.param(["true"], False, id="true"),
        pytest.param([], False, id="absent"),
        pytest.param(["0", "1"], True, id="repeated"),
        pytest.param(["0", "0"], False, id="repeated-off"),
    ],
)
def test_gpc_turns_marketing_off(driver: Driver, values: list[str], on: bool) -> None:
    cookie = make_cookie(ALL, decided_at=NOW)
    headers = [("Sec-GPC", v) for v in values]
    result = driver.get("/", cookies={driver.cookie_name: cookie}, headers=headers)
    seen = json.loads(result.text)
    assert seen["gpc"] is on
    assert ("marketing" in seen["granted"]) is not on
    assert "analytics" in seen["granted"]
    assert seen["mode"] == "personalised"


def test_gpc_withdrawal_is_written_and_later_requests_stay_opted_out(driver: Driver) -> None:
    # Dated from this test's start, not the module's import: a long run must not shift it.
    cookie = make_cookie(ALL, decided_at=int(time.time()) - 3600)
    result = driver.get("/", cookies={driver.cookie_name: cookie}, headers=[("Sec-GPC", "1")])
    rewritten = result.cookie(driver.cookie_name)
    assert rewritten
    assert result.header("cache-control") == "private"
    later = driver.mode(rewritten)
    assert later["gpc"] is False
    assert "marketing" not in later["granted"]
    assert "analytics" in later["granted"]
    # The decision keeps its date: GPC does not extend how long consent lasts.
    max_age = int(re.search(r"Max-Age=(\d+)", result.set_cookies[0]).group(1))  # type: ignore[union-attr]
    assert 180 * 86400 - 3700 < max_age <= 180 * 86400 - 3600


def test_gpc_without_marketing_granted_writes_nothing(driver: Driver) -> None:
    cookie = make_cookie(("analytics",), decided_at=NOW)
    result = driver.get("/", cookies={driver.cookie_name: cookie}, headers=[("Sec-GPC", "1")])
    assert result.set_cookies == []


def test_accept_all_under_gpc_does_not_grant_marketing(driver: Driver) -> None:
    value = driver.decide("accept_all", headers=[("Sec-GPC", "1")])
    assert "marketing" not in decoded_grants(driver, value)
    assert "analytics" in decoded_grants(driver, value)


# -- the cookie's attributes --------------------------------------------------------------


def test_consent_cookie_attributes_secure(driver: Driver) -> None:
    result = driver.post_form([("action", "reject_all")])
    line = next(c for c in result.set_cookies if c.startswith("__Host-consent="))
    assert re.fullmatch(
        r"__Host-consent=[A-Za-z0-9._-]+; Path=/; Max-Age=15552000; HttpOnly; SameSite=Lax; Secure",
        line,
    ), line
    assert len(line) < 4096


def test_consent_cookie_attributes_insecure(make_driver: DriverFactory) -> None:
    driver = make_driver(secure=False)
    result = driver.post_form([("action", "reject_all")])
    line = next(c for c in result.set_cookies if c.startswith("consent="))
    assert re.fullmatch(
        r"consent=[A-Za-z0-9._-]+; Path=/; Max-Age=15552000; HttpOnly; SameSite=Lax", line
    ), line


def test_csrf_cookie_attributes(driver: Driver) -> None:
    page = driver.get("/consent")
    line = next(c for c in page.set_cookies if c.startswith("__Host-consent_csrf="))
    assert re.fullmatch(
        r"__Host-consent_csrf=[A-Za-z0-9_-]{22}; Path=/; HttpOnly; SameSite=Lax; Secure", line
    ), line


def test_lifetime_follows_the_policy(make_driver: DriverFactory) -> None:
    from datetime import timedelta

    default = ConsentPolicy.default()
    policy = ConsentPolicy(default.purposes, version="1", consent_lifetime=timedelta(days=30))
    driver = make_driver(policy=policy)
    result = driver.post_form([("action", "accept_all")])
    assert "Max-Age=2592000;" in result.set_cookies[0]


# -- POST /consent ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "purposes", "granted"),
    [
        pytest.param(
            "accept_all",
            (),
            [
                "analytics",
                "marketing",
                "necessary",
                "personalisation",
                "session_personalisation",
            ],
            id="accept-all",
        ),
        pytest.param("reject_all", ("analytics",), ["necessary"], id="reject-all-ignores-boxes"),
        pytest.param("save", (), ["necessary"], id="save-nothing"),
        pytest.param(
            "save",
            ("personalisation", "analytics"),
            ["analytics", "necessary", "personalisation", "session_personalisation"],
            id="save-implies",
        ),
        pytest.param(
            "save",
            ("session_personalisation", "no_such_purpose", "necessary"),
            ["necessary", "session_personalisation"],
            id="save-unknown-ignored",
        ),
    ],
)
def test_choices(
    driver: Driver, action: str, purposes: tuple[str, ...], granted: list[str]
) -> None:
    value = driver.decide(action, purposes)
    seen = driver.mode(value)
    assert seen["granted"] == granted
    assert seen["decided"] is True


def test_choice_redirects_with_303_and_no_store(driver: Driver) -> None:
    result = driver.post_form([("action", "accept_all"), ("next", "/products/tea?x=1")])
    assert result.status == 303
    assert result.header("location") == "/products/tea?x=1"
    assert result.header("cache-control") == "no-store"


@pytest.mark.parametrize(
    "next_value",
    [
        "//evil.example",
        "https://evil.example",
        "/\\evil.example",
        "javascript:alert(1)",
        "",
        "/.//evil.example",
        "/%2e%2e//evil.example",
    ],
)
def test_next_never_leaves_the_site(driver: Driver, next_value: str) -> None:
    result = driver.post_form([("action", "accept_all"), ("next", next_value)])
    assert result.status == 303
    assert result.header("location") == "/"


def test_consent_forms_bring_the_shopper_back_to_the_same_page_and_query(
    driver: Driver,
) -> None:
    seen = json.loads(driver.get("/where/products/x?page=2&sort=price").text)
    assert seen["path"] == "/where/products/x?page=2&sort=price"
    assert seen["change_url"] == "/consent?next=%2Fwhere%2Fproducts%2Fx%3Fpage%3D2%26sort%3Dprice"
    page = driver.get(seen["change_url"])
    assert 'name="next" value="/where/products/x?page=2&amp;sort=price"' in page.text
    result = driver.post_form([("action", "accept_all"), ("next", seen["path"])])
    assert result.header("location") == "/where/products/x?page=2&sort=price"


def test_changing_a_choice_keeps_the_consent_id(driver: Driver) -> None:
    first = driver.decide("accept_all")
    second = driver.decide("reject_all", cookies={driver.cookie_name: first})
    assert first.split(".")[-2] == second.split(".")[-2]
    fresh = driver.decide("accept_all")
    assert fresh.split(".")[-2] != first.split(".")[-2]


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        pytest.param({"with_csrf": False}, 403, id="no-token"),
        pytest.param({"origin": "https://evil.example"}, 403, id="cross-origin"),
        pytest.param({"origin": "null"}, 403, id="null-origin"),
        pytest.param({"origin": "http://shop.test"}, 403, id="http-origin-on-https"),
        pytest.param({"origin": "https://shop.test:80"}, 403, id="port-80-on-https"),
        pytest.param({"headers": [("Sec-Fetch-Site", "cross-site")]}, 403, id="fetch-cross-site"),
        pytest.param({"headers": [("Sec-Fetch-Site", "same-site")]}, 403, id="fetch-same-site"),
    ],
)
def test_forged_posts_are_refused_and_change_nothing(
    driver: Driver, kwargs: dict[str, object], status: int
) -> None:
    result = driver.post_form([("action", "accept_all")], **kwargs)  # type: ignore[arg-type]
    assert result.status == status
    assert result.set_cookies == []
    assert "Your choice was not saved" in result.text


def test_token_from_another_browser_is_refused(driver: Driver) -> None:
    _, token = driver.csrf()
    other_nonce, _ = driver.csrf()
    result = driver.request(
        "POST",
        "/consent",
        headers=[("Content-Type", "application/x-www-form-urlencoded")],
        cookies={driver.csrf_name: other_nonce},
        body=f"action=accept_all&csrf_token={token}".encode(),
    )
    assert result.status == 403
    assert result.set_cookies == []


def test_token_without_its_cookie_is_refused(driver: Driver) -> None:
    _, token = driver.csrf()
    result = driver.request(
        "POST",
        "/consent",
        headers=[("Content-Type", "application/x-www-form-urlencoded")],
        body=f"action=accept_all&csrf_token={token}".encode(),
    )
    assert result.status == 403


def test_post_without_origin_headers_relies_on_the_token(driver: Driver) -> None:
    result = driver.post_form([("action", "accept_all")], origin=None)
    assert result.status == 303


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        pytest.param([("action", "maybe")], 400, id="unknown-action"),
        pytest.param([], 400, id="no-action"),
        pytest.param([("purpose", "x")] * 200, 400, id="too-many-fields"),
        pytest.param([("pad", "x" * 20000), ("action", "accept_all")], 413, id="too-large"),
    ],
)
def test_bad_forms_get_a_4xx(driver: Driver, fields: list[tuple[str, str]], status: int) -> None:
    result = driver.post_form(fields)
    assert result.status == status
    assert result.set_cookies == []


def test_wrong_content_type_is_415(driver: Driver) -> None:
    nonce, token = driver.csrf()
    result = driver.request(
        "POST",
        "/consent",
        headers=[("Content-Type", "application/json"), ("Origin", "https://shop.test")],
        cookies={driver.csrf_name: nonce},
        body=json.dumps({"action": "accept_all", "csrf_token": token}).encode(),
    )
    assert result.status == 415
    assert result.set_cookies == []


# -- cookies of withdrawn purposes --------------------------------------------------------


def test_withdrawing_deletes_the_purposes_cookies(make_driver: DriverFactory) -> None:
    policy = ConsentPolicy.from_toml("examples/policy.toml")
    driver = make_driver(policy=policy, cookie_domains=[".shop.test"])
    tracked = {"_ga": "1", "_ga_ABC": "2", "_gid": "3", "visit": "4", "cart": "5"}
    accepted = driver.decide("accept_all", cookies=tracked)
    result = driver.post_form(
        [("action", "save"), ("purpose", "session_personalisation")],
        cookies={**tracked, driver.cookie_name: accepted},
    )
    deletions = [c for c in result.set_cookies if "Max-Age=0" in c]
    assert sorted(deletions) == sorted(
        [
            f"{name}=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT{domain}; Secure"
            for name in ("_ga", "_ga_ABC", "_gid")
            for domain in ("", "; Domain=.shop.test")
        ]
    )


def test_accepting_deletes_nothing(make_driver: DriverFactory) -> None:
    policy = ConsentPolicy.from_toml("examples/policy.toml")
    driver = make_driver(policy=policy)
    result = driver.post_form([("action", "accept_all")], cookies={"_ga": "1", "visit": "2"})
    assert [c for c in result.set_cookies if "Max-Age=0" in c] == []


# -- the other endpoints ------------------------------------------------------------------


def test_preference_page_undecided(driver: Driver) -> None:
    page = driver.get("/consent?next=/products/tea")
    assert page.status == 200
    assert page.header("content-type") == "text/html; charset=utf-8"
    assert page.header("cache-control") == "no-store"
    html = page.text
    boxes = re.findall(r"<input type=\"checkbox\"[^>]*>", html)
    assert len(boxes) == 4
    assert not any("checked" in box for box in boxes)
    buttons = re.findall(
        r'<button type="submit" class="consent-button" name="action" value="(\w+)">', html
    )
    assert buttons == ["accept_all", "reject_all", "save"]
    assert '<input type="hidden" name="next" value="/products/tea">' in html
    assert 'lang="en"' in html
    assert "<script" not in html
    for box in boxes:
        box_id = re.search(r'id="([^"]+)"', box).group(1)  # type: ignore[union-attr]
        assert f'<label for="{box_id}">' in html


def test_preference_page_shows_granted_boxes_ticked(driver: Driver) -> None:
    cookie = make_cookie(("analytics",), decided_at=NOW)
    html = driver.get("/consent", cookies={driver.cookie_name: cookie}).text
    checked = re.findall(r'value="(\w+)" id="purpose-\w+"[^>]* checked', html)
    assert checked == ["analytics"]


def test_preference_page_under_gpc(driver: Driver) -> None:
    html = driver.get("/consent", headers=[("Sec-GPC", "1")]).text
    assert "Global Privacy Control" in html
    assert re.search(r'value="marketing"[^>]* disabled', html)


def test_preference_page_ignores_a_flood_of_query_fields(driver: Driver) -> None:
    page = driver.get("/consent?" + "&".join(f"f{i}=x" for i in range(50)) + "&next=/x")
    assert page.status == 200
    assert '<input type="hidden" name="next" value="/">' in page.text


def test_preference_page_next_is_sanitised(driver: Driver) -> None:
    html = driver.get("/consent?next=//evil.example").text
    assert '<input type="hidden" name="next" value="/">' in html


def test_preference_page_reuses_an_existing_csrf_cookie(driver: Driver) -> None:
    nonce, _ = driver.csrf()
    page = driver.get("/consent", cookies={driver.csrf_name: nonce})
    assert page.set_cookies == []


def test_head_preference_page(driver: Driver) -> None:
    result = driver.request("HEAD", "/consent")
    assert result.status == 200
    assert result.text == ""
    full = driver.get("/consent")
    assert result.header("content-length") == str(len(full.text.encode()))


def test_state_json(driver: Driver) -> None:
    cookie = make_cookie(("personalisation",), decided_at=NOW)
    result = driver.get("/consent/state", cookies={driver.cookie_name: cookie})
    assert result.header("content-type") == "application/json"
    assert result.header("cache-control") == "no-store"
    state = json.loads(result.text)
    assert state["decided"] is True
    assert state["mode"] == "personalised"
    assert state["policy_version"] == "1"
    assert state["purposes"] == {
        "necessary": True,
        "session_personalisation": True,
        "personalisation": True,
        "analytics": False,
        "marketing": False,
    }
    assert state["expires_at"].endswith("Z")
    assert "test-consent-id" not in result.text


def test_state_json_undecided(driver: Driver) -> None:
    state = json.loads(driver.get("/consent/state", headers=[("Sec-GPC", "1")]).text)
    assert state["decided"] is False
    assert state["gpc"] is True
    assert state["decided_at"] is None


def test_gpc_json(driver: Driver) -> None:
    result = driver.get("/.well-known/gpc.json")
    assert result.status == 200
    assert result.header("content-type") == "application/json"
    assert json.loads(result.text) == {"gpc": True, "lastUpdate": "2026-11-29"}


def test_gpc_json_can_be_left_to_the_app(make_driver: DriverFactory) -> None:
    assert make_driver(gpc_json=False).get("/.well-known/gpc.json").status == 404


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        pytest.param("PUT", "/consent", "GET, HEAD, POST", id="put-consent"),
        pytest.param("DELETE", "/consent", "GET, HEAD, POST", id="delete-consent"),
        pytest.param("POST", "/consent/state", "GET, HEAD", id="post-state"),
        pytest.param("POST", "/.well-known/gpc.json", "GET, HEAD", id="post-gpc"),
    ],
)
def test_wrong_method_is_405(driver: Driver, method: str, path: str, allow: str) -> None:
    result = driver.request(method, path)
    assert result.status == 405
    assert result.header("allow") == allow


@pytest.mark.parametrize("path", ["/consent/other", "/consentment"])
def test_other_paths_pass_through_untouched(driver: Driver, path: str) -> None:
    result = driver.get(path)
    assert result.status == 200
    assert result.text == f"app saw GET {path}"


def test_custom_prefix(make_driver: DriverFactory) -> None:
    driver = make_driver(prefix="/privacy")
    page = driver.get("/privacy")
    assert page.status == 200
    assert 'action="/privacy"' in page.text
    assert driver.get("/consent").status == 404


# -- app responses ------------------------------------------------------------------------


def test_app_headers_are_kept_when_cookies_are_added(driver: Driver) -> None:
    cookie = make_cookie(ALL, decided_at=NOW)
    result = driver.get("/custom", cookies={driver.cookie_name: cookie}, headers=[("Sec-GPC", "1")])
    assert result.header("x-shop") == "kept"
    assert "cart=abc; Path=/" in result.set_cookies
    assert any(c.startswith("__Host-consent=") for c in result.set_cookies)
    assert result.header("cache-control") == "private, max-age=60"


def test_app_headers_untouched_when_nothing_is_added(driver: Driver) -> None:
    result = driver.get("/custom")
    assert result.header("cache-control") == "public, max-age=60"
    assert result.set_cookies == ["cart=abc; Path=/"]


def test_token_used_by_the_app_sets_the_csrf_cookie(driver: Driver) -> None:
    result = driver.get("/token")
    nonce = result.cookie(driver.csrf_name)
    assert nonce
    assert result.header("cache-control") == "private"
    # The token the app rendered works with the cookie it set.
    posted = driver.request(
        "POST",
        "/consent",
        headers=[("Content-Type", "application/x-www-form-urlencoded")],
        cookies={driver.csrf_name: nonce},
        body=f"action=reject_all&csrf_token={result.text}".encode(),
    )
    assert posted.status == 303


# -- secure=False over HTTPS ---------------------------------------------------------------


def insecure_warnings(caplog: pytest.LogCaptureFixture) -> int:
    return sum("remove secure=False" in r.getMessage() for r in caplog.records)


def test_secure_false_over_https_warns_once_per_middleware(
    make_driver: DriverFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="consent_middleware")
    first = make_driver(secure=False)  # the drivers send every request over https
    for path in ["/", "/consent", "/plain", "/"]:
        assert first.get(path).status == 200
    assert insecure_warnings(caplog) == 1
    make_driver(secure=False).get("/")
    assert insecure_warnings(caplog) == 2
    make_driver().get("/")
    assert insecure_warnings(caplog) == 2


# -- the app's own cookies ----------------------------------------------------------------


def _tracking_policy() -> ConsentPolicy:
    """The default purposes, each owning the cookies the host app's /tracking sets."""
    owned = {
        "necessary": ("session",),
        "session_personalisation": ("recent",),
        "analytics": ("_ga*",),
        "marketing": ("ads", "old_ads"),
    }
    purposes = [
        dataclasses.replace(p, cookies=owned.get(p.id, ()))
        for p in ConsentPolicy.default().purposes
    ]
    return ConsentPolicy(purposes, version="tracking")


def _sent(result: Result) -> list[str]:
    return sorted(line.partition("=")[0] for line in result.set_cookies)


def _tracking(driver: Driver, granted: tuple[str, ...] | None, **kwargs: Any) -> Result:
    cookies = None
    if granted is not None:
        value = make_cookie(granted, decided_at=NOW, policy=_tracking_policy())
        cookies = {driver.cookie_name: value}
    result = driver.get("/tracking", cookies=cookies, **kwargs)
    assert result.status == 200
    return result


def test_the_apps_cookies_of_ungranted_purposes_never_leave(
    make_driver: DriverFactory,
) -> None:
    driver = make_driver(policy=_tracking_policy())
    undecided = _tracking(driver, None)
    # The necessary cookie, the undeclared one (with a warning) and a deletion go out.
    assert _sent(undecided) == ["cart", "old_ads", "session"]
    assert "cookie" in (undecided.header("vary") or "").lower()
    rejected = _tracking(driver, ())
    assert _sent(rejected) == ["cart", "old_ads", "session"]


def test_the_apps_cookies_of_granted_purposes_leave_and_the_page_is_private(
    make_driver: DriverFactory,
) -> None:
    driver = make_driver(policy=_tracking_policy())
    result = _tracking(driver, ("analytics", "session_personalisation"))
    assert _sent(result) == ["_ga", "cart", "old_ads", "recent", "session"]
    assert result.cookie("_ga") == "GA1.1.42"
    assert "private" in (result.header("cache-control") or "")
    assert "cookie" in (result.header("vary") or "").lower()
    everything = _tracking(driver, ALL)
    assert _sent(everything) == ["_ga", "ads", "cart", "old_ads", "recent", "session"]


def test_gpc_keeps_the_marketing_cookie_out(make_driver: DriverFactory) -> None:
    driver = make_driver(policy=_tracking_policy())
    result = _tracking(driver, ALL, headers=[("Sec-GPC", "1")])
    assert "ads" not in _sent(result)
    assert "_ga" in _sent(result)


def test_a_cookie_replayed_after_a_withdrawal_lets_no_app_cookie_out(
    make_driver: DriverFactory, tmp_path: Path
) -> None:
    ledger = f"sqlite:///{tmp_path / 'ledger.db'}"
    driver = make_driver(policy=_tracking_policy(), ledger=ledger, enforce_withdrawal=True)
    accepted = make_cookie(ALL, decided_at=NOW - 60, policy=_tracking_policy())
    assert "_ga" in _sent(driver.get("/tracking", cookies={driver.cookie_name: accepted}))
    driver.decide("reject_all", cookies={driver.cookie_name: accepted})
    replayed = driver.get("/tracking", cookies={driver.cookie_name: accepted})
    assert _sent(replayed) == ["cart", "old_ads", "session"]
    assert "cookie" in (replayed.header("vary") or "").lower()


def test_undeclared_cookies_follow_the_setting(
    make_driver: DriverFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="consent_middleware")
    warned = make_driver(policy=_tracking_policy())
    for _ in range(3):
        assert "cart" in _sent(_tracking(warned, ()))
    warnings = [r.getMessage() for r in caplog.records if "'cart'" in r.getMessage()]
    assert len(warnings) == 1, warnings
    assert "no purpose of the policy declares" in warnings[0]
    assert "undeclared_cookies='allow'" in warnings[0]
    caplog.clear()
    allowed = make_driver(policy=_tracking_policy(), undeclared_cookies="allow")
    assert "cart" in _sent(_tracking(allowed, ()))
    assert not [r for r in caplog.records if "'cart'" in r.getMessage()]
    blocked = make_driver(policy=_tracking_policy(), undeclared_cookies="block")
    assert _sent(_tracking(blocked, ALL)) == ["_ga", "ads", "old_ads", "recent", "session"]


def test_enforcement_can_be_turned_off(make_driver: DriverFactory) -> None:
    driver = make_driver(policy=_tracking_policy(), enforce_cookies=False)
    result = _tracking(driver, ())
    assert _sent(result) == ["_ga", "ads", "cart", "old_ads", "recent", "session"]
    assert result.header("vary") is None
