"""Regional rules: the region each request comes from, the rule set it follows, what that
grants before a choice, how GPC withdraws it, the notice, the ledger and the caches."""

from __future__ import annotations

import json
import logging
import re
import sqlite3
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx
import jinja2
import pytest
import webtest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from consent_middleware import (
    ConfigurationError,
    ConsentMiddleware,
    ConsentOptions,
    ConsentPolicy,
    ConsentWSGIMiddleware,
    PersonalisationContext,
    Purpose,
    get_context,
)
from consent_middleware.core.codec import ConsentState
from consent_middleware.core.regions import (
    DEFAULT_OPT_OUT_REGIONS,
    RegionRules,
    RuleSet,
    region_code,
)
from consent_middleware.jinja import install
from consent_middleware.ledger.sqlite import SQLiteLedger
from consent_middleware.ui.translations import translations
from consent_middleware.web.messages import RequestInfo

from .conftest import KEY, ORIGIN, Driver, DriverFactory, make_cookie
from .ledgers import KINDS, POSTGRES_DSN, postgres_schema, postgres_url

ROOT = Path(__file__).parent.parent
EXAMPLE = ConsentPolicy.from_toml(ROOT / "examples" / "policy.toml")
#: Cloudflare's country header and, with its visitor location headers on, the subdivision.
CLOUDFLARE = {"region_header": "CF-IPCountry", "region_subdivision_header": "CF-Region-Code"}
CALIFORNIA = [("CF-IPCountry", "US"), ("CF-Region-Code", "CA")]
GERMANY = [("CF-IPCountry", "DE")]
GPC = [("Sec-GPC", "1")]
NOTHING = ["necessary"]
OPT_OUT_DEFAULTS = ["analytics", "marketing", "necessary"]


# -- region codes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "subdivision", "region"),
    [
        pytest.param("DE", None, "DE", id="country"),
        pytest.param(" de ", None, "DE", id="any-case-and-spaces"),
        pytest.param("US-CA", None, "US-CA", id="subdivision-in-one-value"),
        pytest.param("US", "CA", "US-CA", id="cloudfront-subdivision"),
        pytest.param("US", "us-tx", "US-TX", id="subdivision-with-its-country"),
        pytest.param("US", "DE-BY", "US", id="subdivision-of-another-country"),
        pytest.param("US", "CALIF", "US", id="subdivision-not-a-code"),
        pytest.param("GB", "", "GB", id="empty-subdivision"),
        pytest.param("XX", None, None, id="cloudflare-unknown"),
        pytest.param("T1", None, None, id="cloudflare-tor"),
        pytest.param("EU", None, None, id="not-a-country"),
        pytest.param("DE, FR", None, None, id="repeated-header-joined"),
        pytest.param("DEU", None, None, id="alpha-3"),
        pytest.param("", "CA", None, id="subdivision-alone"),
        pytest.param(None, None, None, id="missing"),
        pytest.param("D" * 5000, None, None, id="oversized"),
        pytest.param("US-CA<script>", None, None, id="hostile"),
    ],
)
def test_a_header_value_is_a_region_only_when_it_is_an_iso_3166_code(
    value: str | None, subdivision: str | None, region: str | None
) -> None:
    assert region_code(value, subdivision) == region


def test_the_default_rules_name_the_us_opt_out_states_and_nothing_else_opts_out() -> None:
    rules = RegionRules.default()
    assert rules.rule_set("US-CA") is RuleSet.OPT_OUT
    assert rules.rule_set("US-VA") is RuleSet.OPT_OUT
    assert len(DEFAULT_OPT_OUT_REGIONS) == 19
    for region in ("US-NY", "US", "DE", "FR", "GB", "CH", "NO", "BR", "JP", None):
        assert rules.rule_set(region) is RuleSet.OPT_IN, region
    assert ConsentPolicy.default().regions == rules


def test_a_country_covers_its_subdivisions_and_a_subdivision_wins() -> None:
    rules = RegionRules(opt_out=["us"], notice=["CA-ON"], opt_in=["US-NY"])
    assert rules.rule_set("US-TX") is RuleSet.OPT_OUT
    assert rules.rule_set("US") is RuleSet.OPT_OUT
    assert rules.rule_set("US-NY") is RuleSet.OPT_IN
    assert rules.rule_set("CA-ON") is RuleSet.NOTICE
    assert rules.rule_set("CA") is RuleSet.OPT_IN


@pytest.mark.parametrize(
    ("regions", "message"),
    [
        pytest.param({"opt_out": ["US-CA"], "notice": ["us-ca"]}, "under both opt_out and notice"),
        pytest.param({"opt_out": ["California"]}, "'California' is not an ISO 3166"),
        pytest.param({"opt_out": ["XX"]}, "'XX' is not an ISO 3166"),
        pytest.param({"opt_out": "US-CA"}, "must be a list of region codes"),
        pytest.param({"opt_outs": ["US-CA"]}, r"unknown key\(s\) opt_outs"),
        pytest.param(["US-CA"], "must be a RegionRules or a mapping"),
    ],
)
def test_region_rules_are_checked_at_construction(regions: Any, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        ConsentPolicy(ConsentPolicy.default().purposes, version="1", regions=regions)


def test_a_policy_file_declares_its_regions_and_opt_out_purposes() -> None:
    assert EXAMPLE.regions.rule_set("US-CA") is RuleSet.OPT_OUT
    assert EXAMPLE.regions.rule_set("US-NJ") is RuleSet.OPT_IN  # not listed in the file
    assert EXAMPLE.opt_out_allowed_ids == {"analytics", "marketing"}
    with pytest.raises(ConfigurationError, match=r"policy has unknown key\(s\) region\b"):
        ConsentPolicy.from_mapping({"version": "1", "region": {}, "purposes": []})


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        pytest.param({"sensitive": True}, "sensitive, so it is always opt-in"),
        pytest.param({"required": True}, "required, so it is always granted"),
    ],
)
def test_sensitive_and_required_purposes_cannot_start_granted(
    flags: dict[str, bool], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        Purpose("health", "Health", opt_out_allowed=True, **flags)


# -- the context ------------------------------------------------------------------------------


def located(region: str | None, *, state: ConsentState | None = None, gpc: bool = False) -> Any:
    ctx = PersonalisationContext(EXAMPLE, state, gpc)
    ctx.locate(region)
    return ctx


def test_unknown_and_unlisted_regions_get_nothing_before_a_choice() -> None:
    for region in (None, "DE", "US-NY", "BR"):
        ctx = located(region)
        assert ctx.granted == {"necessary"}, region
        assert ctx.rule_set is RuleSet.OPT_IN
        assert ctx.on_by_default == set()


def test_an_opt_out_region_grants_its_purposes_but_never_a_sensitive_one() -> None:
    ctx = located("US-CA")
    assert ctx.rule_set is RuleSet.OPT_OUT
    assert ctx.region == "US-CA"
    assert ctx.granted == {"necessary", "analytics", "marketing"}
    assert ctx.on_by_default == {"analytics", "marketing"}
    assert "health_personalisation" in EXAMPLE.optional_ids
    assert not ctx.allows("health_personalisation")
    assert not ctx.decided


def test_gpc_withdraws_every_opt_out_purpose_in_an_opt_out_region_and_says_so() -> None:
    ctx = located("US-CA", gpc=True)
    assert ctx.granted == {"necessary"}
    assert ctx.gpc_opt_outs == {"analytics", "marketing"}
    # An earlier opt-in too: GPC overrides it, and the withdrawal is written.
    chosen = ConsentState("c" * 22, EXAMPLE.grant(["analytics", "personalisation"]), 1)
    ctx = located("US-CA", state=chosen, gpc=True)
    assert not ctx.allows("analytics")
    assert ctx.allows("personalisation")
    assert ctx.must_write
    withdrawal = ctx.gpc_withdrawal
    assert withdrawal is not None and "analytics" not in withdrawal.granted
    # Elsewhere GPC keeps only the gpc_opt_out purposes off.
    assert located("DE", state=chosen, gpc=True).allows("analytics")
    assert located("DE", gpc=True).gpc_opt_outs == {"marketing"}


def test_a_notice_region_grants_like_opt_out_but_gpc_only_turns_off_its_own() -> None:
    policy = ConsentPolicy(EXAMPLE.purposes, version="1", regions={"notice": ["BR"]})
    ctx = PersonalisationContext(policy, None, True)
    ctx.locate("BR")
    assert ctx.rule_set is RuleSet.NOTICE
    assert ctx.granted == {"necessary", "analytics"}
    assert ctx.gpc_opt_outs == {"marketing"}


def test_a_decision_is_not_changed_by_the_region() -> None:
    chosen = ConsentState("c" * 22, EXAMPLE.grant(["personalisation"]), 1)
    for region in ("US-CA", "DE", None):
        ctx = located(region, state=chosen)
        assert ctx.granted == chosen.granted
        assert ctx.on_by_default == set()
        assert not ctx.varies_with_region  # nothing read yet
        assert ctx.mode and not ctx.varies_with_region  # read, but the region changed nothing


def test_reading_the_region_or_the_rules_it_decided_makes_the_response_vary_with_it() -> None:
    ctx = located("DE")
    assert not ctx.varies_with_region
    ctx.allows("analytics")
    assert ctx.varies_with_region
    ctx = located("DE", state=ConsentState("c" * 22, EXAMPLE.grant([]), 1))
    assert ctx.region == "DE"
    assert ctx.varies_with_region


# -- the options ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param(
            {"region": lambda r: "DE", "region_header": "CF-IPCountry"}, "not both", id="both"
        ),
        pytest.param({"region": "CF-IPCountry"}, "region must be a function", id="not-callable"),
        pytest.param({"region_header": "CF_IPCountry"}, "header name such as", id="underscore"),
        pytest.param({"region_header": "CF IPCountry"}, "header name such as", id="space"),
        pytest.param({"region_header": ""}, "header name such as", id="empty"),
        pytest.param({"region_header": ["CF-IPCountry"]}, "header name such as", id="list"),
        pytest.param(
            {"region_subdivision_header": "CloudFront-Viewer-Country-Region"},
            "needs region_header",
            id="subdivision-alone",
        ),
        pytest.param(
            {"region": lambda r: "US", "region_subdivision_header": "X-Region"},
            "needs region_header",
            id="subdivision-with-function",
        ),
    ],
)
def test_region_options_are_checked_at_construction(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        ConsentOptions(secret_keys=[KEY], **options)


def test_a_settings_mapping_names_the_region_header() -> None:
    options = ConsentOptions.from_mapping(
        {"secret_keys": [KEY], "region_header": "CloudFront-Viewer-Country"}
    )
    assert options.region_header == "CloudFront-Viewer-Country"
    with pytest.raises(ConfigurationError, match="did you mean 'region_header'"):
        ConsentOptions.from_mapping({"secret_keys": [KEY], "region_headers": "CF-IPCountry"})


# -- through the middleware (ASGI, WSGI, Flask; Django in test_regions_django.py) --------------


def granted(driver: Driver, headers: list[tuple[str, str]], cookie: str | None = None) -> Any:
    return driver.mode(cookie, headers=headers)["granted"]


def test_the_region_header_decides_the_rule_set(make_driver: DriverFactory) -> None:
    driver = make_driver(**CLOUDFLARE)
    assert granted(driver, CALIFORNIA) == OPT_OUT_DEFAULTS
    assert granted(driver, [("CF-IPCountry", "US-VA")]) == OPT_OUT_DEFAULTS
    assert granted(driver, GERMANY) == NOTHING
    assert granted(driver, [("CF-IPCountry", "US"), ("CF-Region-Code", "NY")]) == NOTHING
    # Without the option, the same headers decide nothing.
    assert granted(make_driver(), CALIFORNIA) == NOTHING


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param([("CloudFront-Viewer-Country", "US"), ("CF-Region-Code", "CA")], id="other"),
        pytest.param([("X-Country", "US-CA")], id="made-up"),
        pytest.param([("CF-IPCountry", "US-CA")], id="a-cdns-header-not-named-here"),
    ],
)
def test_a_header_the_shop_did_not_name_is_ignored(
    make_driver: DriverFactory, headers: list[tuple[str, str]]
) -> None:
    driver = make_driver(
        region_header="CloudFront-Viewer-Country",
        region_subdivision_header="CloudFront-Viewer-Country-Region",
    )
    assert granted(driver, headers) == NOTHING
    trusted = [("CloudFront-Viewer-Country", "US"), ("CloudFront-Viewer-Country-Region", "CA")]
    assert granted(driver, trusted) == OPT_OUT_DEFAULTS


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param([], id="absent"),
        pytest.param([("CF-IPCountry", "XX")], id="unknown"),
        pytest.param([("CF-IPCountry", "T1")], id="tor"),
        pytest.param([("CF-IPCountry", "California")], id="not-a-code"),
        pytest.param([("CF-Region-Code", "CA")], id="subdivision-only"),
    ],
)
def test_an_unknown_region_gets_the_strictest_rules(
    make_driver: DriverFactory, headers: list[tuple[str, str]]
) -> None:
    driver = make_driver(**CLOUDFLARE)
    result = driver.get("/", headers=headers)
    assert json.loads(result.text)["granted"] == NOTHING
    state = json.loads(driver.get("/consent/state", headers=headers).text)
    assert (state["region"], state["rule_set"]) == (None, "opt_in")


def test_opt_out_regions_honour_gpc(make_driver: DriverFactory) -> None:
    driver = make_driver(**CLOUDFLARE)
    assert granted(driver, CALIFORNIA + GPC) == NOTHING
    state = json.loads(driver.get("/consent/state", headers=CALIFORNIA + GPC).text)
    assert state["gpc"] is True
    assert (state["region"], state["rule_set"]) == ("US-CA", "opt_out")
    assert not state["purposes"]["marketing"] and not state["purposes"]["analytics"]
    # An earlier opt-in is withdrawn, in the cookie too: no opt-in again without GPC.
    cookie = make_cookie(("analytics", "personalisation"), decided_at=int(time.time()))
    result = driver.get("/", cookies={driver.cookie_name: cookie}, headers=CALIFORNIA + GPC)
    assert json.loads(result.text)["granted"] == [
        "necessary",
        "personalisation",
        "session_personalisation",
    ]
    rewritten = result.cookie(driver.cookie_name)
    assert rewritten
    assert "analytics" not in granted(driver, CALIFORNIA, rewritten)
    # A form cannot opt back in while GPC is on.
    value = driver.decide("accept_all", headers=CALIFORNIA + GPC)
    assert granted(driver, CALIFORNIA, value) == [
        "necessary",
        "personalisation",
        "session_personalisation",
    ]


def test_a_form_in_an_opt_in_region_cannot_grant_what_gpc_withdraws_elsewhere(
    make_driver: DriverFactory,
) -> None:
    driver = make_driver(**CLOUDFLARE)
    value = driver.decide("accept_all", headers=GERMANY + GPC)
    # In Germany GPC turns off marketing only.
    assert granted(driver, GERMANY, value) == [
        "analytics",
        "necessary",
        "personalisation",
        "session_personalisation",
    ]


def test_sensitive_purposes_stay_opt_in(make_driver: DriverFactory) -> None:
    driver = make_driver(policy=EXAMPLE, **CLOUDFLARE)
    assert "health_personalisation" not in granted(driver, CALIFORNIA)
    value = driver.decide("accept_all", headers=CALIFORNIA)
    assert "health_personalisation" not in granted(driver, CALIFORNIA, value)


def test_a_region_function_gets_the_request_record(make_driver: DriverFactory) -> None:
    seen: list[RequestInfo] = []

    def region(request: RequestInfo) -> str | None:
        seen.append(request)
        return request.header("x-shop-region")

    driver = make_driver(region=region)
    assert granted(driver, [("X-Shop-Region", "us-ca")]) == OPT_OUT_DEFAULTS
    assert granted(driver, [("X-Shop-Region", "de")]) == NOTHING
    assert seen and all(isinstance(request, RequestInfo) for request in seen)
    assert all(request.path == "/" for request in seen)
    assert all((request.scope is None) != (request.environ is None) for request in seen)


@pytest.mark.parametrize(
    "function",
    [
        pytest.param(lambda request: 1 / 0, id="raises"),
        pytest.param(lambda request: 49, id="not-text"),
        pytest.param(lambda request: "Kalifornien", id="not-a-code"),
    ],
)
def test_a_region_function_that_fails_gives_an_unknown_region(
    make_driver: DriverFactory, function: Any, caplog: pytest.LogCaptureFixture
) -> None:
    driver = make_driver(region=function)
    with caplog.at_level(logging.WARNING, logger="consent_middleware"):
        result = driver.get("/")
    assert result.status == 200
    assert json.loads(result.text)["granted"] == NOTHING


# -- caches ------------------------------------------------------------------------------------


def _vary(result: Any) -> list[str]:
    return [item.strip() for value in result.all("vary") for item in value.split(",")]


def test_a_page_the_region_decides_varies_with_its_headers(make_driver: DriverFactory) -> None:
    driver = make_driver(**CLOUDFLARE)
    for headers in (CALIFORNIA, GERMANY, []):
        result = driver.get("/", headers=headers)
        assert _vary(result) == ["Cookie", "CF-IPCountry", "CF-Region-Code"]
        assert result.header("cache-control") is None
    # A decision the region does not change: the cookie alone decides.
    cookie = make_cookie(("analytics",), decided_at=int(time.time()))
    assert _vary(driver.get("/", cookies={driver.cookie_name: cookie}, headers=GERMANY)) == [
        "Cookie"
    ]
    # The app's own Vary is kept, and so is its caching, for a page with nothing personal.
    merged = make_driver(policy=EXAMPLE, **CLOUDFLARE).get("/recommend", headers=CALIFORNIA)
    assert _vary(merged) == ["Accept-Encoding", "Cookie", "CF-IPCountry", "CF-Region-Code"]
    assert merged.header("cache-control") == "public, max-age=60"
    # A page that never reads the consent is left alone.
    plain = driver.get("/plain", headers=CALIFORNIA)
    assert plain.all("vary") == []


def test_a_policy_with_nothing_to_start_granted_never_varies_with_the_region(
    make_driver: DriverFactory,
) -> None:
    policy = ConsentPolicy(
        [Purpose("necessary", "N", required=True), Purpose("analytics", "A")], version="1"
    )
    driver = make_driver(policy=policy, **CLOUDFLARE)
    assert _vary(driver.get("/", headers=CALIFORNIA)) == ["Cookie"]


def test_a_page_a_region_function_decides_is_private(make_driver: DriverFactory) -> None:
    driver = make_driver(region=lambda request: request.header("x-shop-region"))
    result = driver.get("/", headers=[("X-Shop-Region", "US-CA")])
    # No request header names the region for a shared cache: none may keep the page.
    assert result.header("cache-control") == "private"
    assert _vary(result) == ["Cookie"]


# -- the ledger -----------------------------------------------------------------------------------


@pytest.fixture(params=KINDS)
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/ledger.db"
        return
    with postgres_schema() as schema:
        yield postgres_url(schema)


def _rows(url: str) -> list[tuple[Any, ...]]:
    statement = "SELECT method, region, rule_set, granted FROM consent_events ORDER BY time"
    if url.startswith("sqlite:///"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
            return [tuple(row) for row in db.execute(statement)]
    import psycopg

    assert POSTGRES_DSN
    with psycopg.connect(url) as db:
        return [tuple(row) for row in db.execute(statement)]


def test_the_ledger_rows_carry_the_region_and_rule_set(ledger_url: str) -> None:
    app = ConsentWSGIMiddleware(
        _banner_wsgi, secret_keys=[KEY], secure=False, ledger=ledger_url, **CLOUDFLARE
    )
    try:
        shop = webtest.TestApp(app)
        _submit(shop.get("/", headers=dict(GERMANY)), dict(GERMANY), "accept_all")
        shop.reset()
        _submit(shop.get("/", headers=dict(CALIFORNIA)), dict(CALIFORNIA))  # "Got it"
        shop.reset()
        cookie = make_cookie(("analytics",), decided_at=int(time.time()))
        shop.get("/", headers={**dict(CALIFORNIA + GPC), "Cookie": f"consent={cookie}"})
    finally:
        app.close()  # the GPC withdrawal is written in the background: flushed here
    rows = _rows(ledger_url)
    assert [row[:3] for row in rows] == [
        ("banner", "DE", "opt_in"),
        ("banner", "US-CA", "opt_out"),
        ("gpc", "US-CA", "opt_out"),
    ]
    assert json.loads(rows[1][3]) == OPT_OUT_DEFAULTS


def test_a_ledger_of_schema_two_gets_the_region_columns(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE consent_ledger_meta (key TEXT PRIMARY KEY, value TEXT);"
        "INSERT INTO consent_ledger_meta VALUES ('schema_version', '2');"
        "CREATE TABLE consent_erasures (subject TEXT PRIMARY KEY, time REAL NOT NULL);"
        "CREATE TABLE consent_events (event_id TEXT PRIMARY KEY, consent_id TEXT NOT NULL,"
        " time REAL NOT NULL, policy_version TEXT NOT NULL, granted TEXT NOT NULL,"
        " refused TEXT NOT NULL, method TEXT NOT NULL, kind TEXT NOT NULL, language TEXT NOT NULL,"
        " recorded REAL NOT NULL DEFAULT 0);"
        "INSERT INTO consent_events VALUES ('e1', 'browser-one-000000', 1.0, '1',"
        " '[\"necessary\"]', '[]', 'banner', 'given', 'en', 1.0);"
    )
    db.close()
    ledger = SQLiteLedger(path)
    (event,) = ledger.history("browser-one-000000")
    ledger.close()
    assert (event.region, event.rule_set) == (None, "opt_in")
    version = sqlite3.connect(path).execute(
        "SELECT value FROM consent_ledger_meta WHERE key = 'schema_version'"
    )
    assert version.fetchone() == ("6",)


# -- the notice, in the shopper's language -----------------------------------------------------

_ENV = install(jinja2.Environment(autoescape=True))
_PAGE = _ENV.from_string(
    '<html lang="{{ consent.language }}"><body>{{ consent_banner() }}<main>'
    '{% consent "marketing" %}<p id="offer">Offer for you</p>{% endconsent %}</main>'
    "{{ privacy_choices_link() }}</body></html>"
)


def _banner_wsgi(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    body = _PAGE.render(consent=get_context(environ)).encode()
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
    return [body]


async def _banner_page(request: Request) -> HTMLResponse:
    return HTMLResponse(_PAGE.render(consent=get_context(request)))


def _submit(page: Any, headers: dict[str, str], action: str | None = None) -> None:
    """Post the banner's first form as a browser would: with ``action``'s button, or its
    only one."""
    form = page.forms[0]
    headers = {**headers, "Origin": "http://localhost"}
    answer = (
        form.submit("action", value=action, headers=headers)
        if action
        else form.submit(headers=headers)
    )
    assert answer.status_int == 303, answer.text


def _page(headers: list[tuple[str, str]], **options: Any) -> str:
    import asyncio

    app = ConsentMiddleware(
        Starlette(routes=[Route("/", _banner_page)]),
        secret_keys=[KEY],
        languages=["en", "de", "fr", "es", "it", "nl", "pl", "pt"],
        **{**CLOUDFLARE, **options},
    )

    async def go() -> str:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=ORIGIN) as client:
            return (await client.get("/", headers=headers)).text

    return asyncio.run(go())


def test_a_german_visitor_from_germany_sees_the_german_opt_in_banner() -> None:
    page = _page([("Accept-Language", "de"), *GERMANY])
    german = translations("de")
    assert '<html lang="de">' in page
    assert german.gettext("Accept all") in page and german.gettext("Reject all") in page
    assert german.gettext("Do Not Sell or Share My Personal Information") not in page
    assert 'id="offer"' not in page


def test_a_californian_sees_the_opt_out_notice_with_what_is_on() -> None:
    page = _page(CALIFORNIA)
    assert "Accept all" not in page
    assert "This shop uses: Measure how the shop is used; Personalised offers and advertising." in (
        page
    )
    assert "Do Not Sell or Share My Personal Information" in page
    assert re.search(r'<a class="consent-button" href="/consent\?next=%2F">Do Not Sell', page)
    assert 'id="offer"' in page
    # "Got it" keeps what is on.
    kept = re.findall(r'name="purpose" value="(\w+)"', page)
    assert kept == ["analytics", "marketing"]


def test_a_californian_with_gpc_sees_the_notice_with_marketing_already_off() -> None:
    page = _page(CALIFORNIA + GPC)
    assert (
        "Your browser sends Global Privacy Control, which this shop honours as your request to "
        "opt out of: Measure how the shop is used; Personalised offers and advertising."
    ) in page
    assert "This shop uses" not in page
    assert 'id="offer"' not in page
    assert re.findall(r'name="purpose" value="(\w+)"', page) == []


def test_a_notice_region_informs_without_the_opt_out_link() -> None:
    policy = ConsentPolicy(EXAMPLE.purposes, version="1", regions={"notice": ["BR"]})
    page = _page([("CF-IPCountry", "BR"), ("Accept-Language", "pt")], policy=policy)
    portuguese = translations("pt")
    assert portuguese.gettext("Got it") in page
    assert "Do Not Sell" not in page
    assert portuguese.gettext("Do Not Sell or Share My Personal Information") not in page
    on = "Measure how the shop is used; Personalised offers and advertising"
    assert f"Esta loja usa: {on}." in page
    assert 'id="offer"' in page


def test_the_preference_centre_and_the_why_page_say_what_is_on_until_an_opt_out() -> None:
    app = ConsentWSGIMiddleware(_banner_wsgi, secret_keys=[KEY], **CLOUDFLARE)
    shop = webtest.TestApp(app)
    sentence = "Where you are, the law lets this shop use some data until you say no."
    for path in ("/consent", "/consent/why"):
        assert sentence in shop.get(path, headers=dict(CALIFORNIA)).text
        assert sentence not in shop.get(path, headers=dict(GERMANY)).text
    centre = shop.get("/consent", headers=dict(CALIFORNIA + GPC)).text
    assert "honours as your request to opt out of" in centre
    assert re.search(r'value="analytics" id="purpose-analytics"[^>]* disabled>', centre)


def test_the_report_counts_opt_ins_per_rule_set(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from consent_middleware.cli import main

    from .ledgers import event

    ledger = SQLiteLedger(tmp_path / "ledger.db")
    ledger.write(
        [
            event(granted=["necessary"], refused=["analytics"], region="DE"),
            event(granted=["necessary", "analytics"], region="FR"),
            event(granted=["necessary", "analytics"], region="US-CA", rule_set="opt_out"),
        ]
    )
    ledger.close()
    url = f"sqlite:///{tmp_path}/ledger.db"
    assert main(["report", "--ledger", url]) == 0
    lines = capsys.readouterr().out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("rule set"))
    assert [line.split() for line in lines[start + 1 : start + 3]] == [
        ["opt_in", "2", "50%", "0%"],  # analytics, marketing
        ["opt_out", "1", "100%", "0%"],
    ]
    html = tmp_path / "report.html"
    assert main(["report", "--ledger", url, "--html", str(html)]) == 0
    assert "<h2>Opt-in rate per rule set</h2>" in html.read_text()


def test_why_says_a_purpose_is_on_until_the_shopper_opts_out() -> None:
    from consent_middleware import Signal

    purposes = [
        Purpose("necessary", "Necessary", required=True),
        Purpose("session_personalisation", "Tailor this visit", opt_out_allowed=True),
    ]
    signals = [Signal("viewed_products", "Products you viewed", "session_personalisation")]
    policy = ConsentPolicy(purposes, version="1", signals=signals)
    env = install(jinja2.Environment(autoescape=True))
    template = env.from_string("{{ why(reason) }}")
    texts = {}
    for region, state in (
        ("US-CA", None),
        ("US-CA", ConsentState("c" * 22, policy.grant(["session_personalisation"]), 1)),
    ):
        ctx = PersonalisationContext(policy, state)
        ctx.locate(region)
        reason = ctx.reason("viewed_products", text="Because you viewed tea.")
        # Twice: the second comes from the disclosures kept per list of signals.
        texts[state is None] = [template.render(consent=ctx, reason=reason) for _ in range(2)]
    by_default, chosen = texts[True], texts[False]
    assert by_default[0] == by_default[1] and chosen[0] == chosen[1]
    assert "under &ldquo;Tailor this visit&rdquo;, which is on until you opt out" in by_default[0]
    assert "under your choice &ldquo;Tailor this visit&rdquo;" in chosen[0]
