"""The cookies the middleware sets and deletes, planned without a request."""

from __future__ import annotations

import time

import pytest

from consent_middleware import ConfigurationError, ConsentPolicy, Purpose
from consent_middleware.core.codec import ConsentCookieCodec, ConsentState
from consent_middleware.core.inventory import SignalScope
from consent_middleware.web.cookie_plan import CookieNames, CookiePlan

from .conftest import KEY

POLICY = ConsentPolicy(
    [
        Purpose("necessary", "Necessary", required=True, cookies=("cart",)),
        Purpose("analytics", "Statistics", cookies=("_ga", "_ga_*")),
        Purpose("marketing", "Advertising", cookies=("_fbp",)),
    ],
    version="1",
)
NAMES = CookieNames.of("consent", secure=True)


def plan(*, domains: tuple[str, ...] = ()) -> CookiePlan:
    codec = ConsentCookieCodec(POLICY, [KEY])
    return CookiePlan(POLICY, codec, NAMES, secure=True, domains=domains)


@pytest.mark.parametrize(
    ("secure", "expected"),
    [
        pytest.param(
            True,
            [
                "__Host-shop",
                "__Host-shop_csrf",
                "__Host-shop_visit",
                "__Host-shop_prefs",
                "__Host-shop_signals",
                "__Host-shop_pause",
            ],
            id="secure",
        ),
        pytest.param(
            False,
            ["shop", "shop_csrf", "shop_visit", "shop_prefs", "shop_signals", "shop_pause"],
            id="plain-http",
        ),
    ],
)
def test_names_follow_the_cookie_name(secure: bool, expected: list[str]) -> None:
    names = CookieNames.of("shop", secure=secure)
    assert list(names) == expected
    assert names.store(SignalScope.SESSION) == expected[2]
    assert names.store(SignalScope.PERSISTENT) == expected[3]


def test_an_optional_purpose_may_not_claim_the_consent_cookies() -> None:
    greedy = ConsentPolicy(
        [*POLICY.purposes, Purpose("greedy", "Greedy", cookies=("__Host-consent_*",))], version="1"
    )
    NAMES.check_unclaimed(POLICY)
    with pytest.raises(ConfigurationError, match="'greedy' claims cookie '__Host-consent_csrf'"):
        NAMES.check_unclaimed(greedy)


def test_consent_cookie_expires_with_the_decision() -> None:
    decided_at = int(time.time()) - 10 * 86400
    line = plan().consent_cookie(ConsentState("id-1", POLICY.grant(["analytics"]), decided_at))
    assert line.startswith("__Host-consent=")
    max_age = int(line.partition("Max-Age=")[2].partition(";")[0])
    assert 170 * 86400 - 5 <= max_age <= 170 * 86400


def test_store_cookies_are_set_or_deleted() -> None:
    visit = plan().store_cookie(SignalScope.SESSION, "sealed")
    assert visit.startswith("__Host-consent_visit=sealed;") and "Max-Age" not in visit
    assert "Max-Age=" in plan().store_cookie(SignalScope.PERSISTENT, "sealed")
    deleted = plan().store_cookie(SignalScope.PERSISTENT, None)
    assert deleted.startswith("__Host-consent_prefs=;") and "01 Jan 1970" in deleted


def test_withdrawal_deletes_cookies_of_ungranted_purposes_on_every_domain() -> None:
    header = "cart=1; _ga=2; _ga_X=3; _fbp=4; other=5"
    lines = plan(domains=(".shop.test",)).purpose_cookie_deletions(
        header, frozenset({"necessary", "marketing"})
    )
    assert [line.partition("=")[0] for line in lines] == ["_ga", "_ga", "_ga_X", "_ga_X"]
    assert sum("Domain=.shop.test" in line for line in lines) == 2


def test_withdrawal_deletes_the_secure_and_host_variants_of_declared_cookies() -> None:
    header = "__Host-_ga=2; __Secure-_ga_X=3; __Host-_fbp=4; __Host-cart=1"
    lines = plan().purpose_cookie_deletions(header, frozenset({"necessary", "marketing"}))
    assert [line.partition("=")[0] for line in lines] == ["__Host-_ga", "__Secure-_ga_X"]


def test_an_optional_purpose_may_not_claim_the_consent_cookie_by_its_bare_name() -> None:
    greedy = ConsentPolicy(
        [*POLICY.purposes, Purpose("greedy", "Greedy", cookies=("consent",))], version="1"
    )
    with pytest.raises(ConfigurationError, match="'greedy' claims cookie '__Host-consent'"):
        NAMES.check_unclaimed(greedy)


def test_erasure_deletes_the_consent_its_stores_and_optional_purpose_cookies() -> None:
    header = "__Host-consent=a; __Host-consent_visit=b; __Host-consent_csrf=c; cart=1; _fbp=2"
    names = [line.partition("=")[0] for line in plan().erasure_cookies(header)]
    assert names == ["__Host-consent", "__Host-consent_visit", "_fbp"]
