"""Per-purpose versions: a new purpose, or a purpose whose own version changed, is asked about
alone, the other choices kept; the policy's version still asks about everything; cookies of
the first format, already in browsers, still read as they did."""

from __future__ import annotations

import copy
import dataclasses
import html
import json
import re
import sqlite3
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import jinja2
import pytest
import webtest

from consent_middleware import (
    ConfigurationError,
    ConsentPolicy,
    ConsentWSGIMiddleware,
    PersonalisationContext,
    Purpose,
    get_context,
)
from consent_middleware.core.codec import ConsentCookieCodec, ConsentState, CookieProblem
from consent_middleware.core.signing import make_signer
from consent_middleware.jinja import install
from consent_middleware.ledger.sqlite import SQLiteLedger

from .conftest import KEY
from .ledgers import KINDS, postgres_schema, postgres_url

NOW = 1_800_000_000
POLICY = ConsentPolicy.default()
WITH_SURVEYS = ConsentPolicy(
    [*POLICY.purposes, Purpose("surveys", "Answer short surveys", version="1")],
    version=POLICY.version,
)
ANALYTICS_V2 = ConsentPolicy(
    [dataclasses.replace(p, version="2") if p.id == "analytics" else p for p in POLICY.purposes],
    version=POLICY.version,
)

# -- cookies already in browsers -----------------------------------------------------------------

#: Consent cookies of the first format, made by the code before per-purpose versions (commit
#: bf3010f) with the default policy, KEY, consent id "format1-consent-id-0001", decided at NOW.
FIRST_FORMAT = {
    (): "1.428f20daaf.0.6b49d200.format1-consent-id-0001."
    "zrRLKSBeCosql-YBkFvcFzvyi0knnQosogT50ITXExg",
    ("analytics",): "1.428f20daaf.4.6b49d200.format1-consent-id-0001."
    "0DvgDY32VdfC2ECEWjEu0ONKxr7pDGrAFYYSIaOMEkw",
    ("personalisation", "analytics"): "1.428f20daaf.7.6b49d200.format1-consent-id-0001."
    "tsgJNrhHFKKqae7VWXX1k68RFPieyEdEYZktaQrFIsA",
    ("session_personalisation", "personalisation", "analytics", "marketing"): (
        "1.428f20daaf.f.6b49d200.format1-consent-id-0001."
        "HGZQYcOtq5PcWV6D6_HzXaoEd0ey5MUjwIXsQagfiH8"
    ),
}


def first_format(
    granted: Iterable[str], at: int, consent_id: str = "format1-consent-id-0001"
) -> str:
    """A cookie of the first format, as the code before per-purpose versions signed it."""
    chosen = POLICY.grant(granted)
    bits = sum(1 << i for i, p in enumerate(POLICY.optional) if p.id in chosen)
    signer = make_signer([KEY.encode()], "consent_middleware.consent")
    return signer.sign(f"1.{POLICY.fingerprint}.{bits:x}.{at:x}.{consent_id}").decode()


@pytest.mark.parametrize("granted", list(FIRST_FORMAT), ids=lambda g: "+".join(g) or "nothing")
def test_a_first_format_cookie_reads_as_it_did(granted: tuple[str, ...]) -> None:
    value = FIRST_FORMAT[granted]
    decoded = ConsentCookieCodec(POLICY, [KEY]).decode(value, NOW)
    assert decoded == ConsentState("format1-consent-id-0001", POLICY.grant(granted), NOW)
    # The encoder the middleware tests below use makes exactly what that code made.
    assert first_format(granted, NOW) == value


def test_a_first_format_cookie_awaits_a_choice_only_about_purposes_with_a_version() -> None:
    value = FIRST_FORMAT[("personalisation", "analytics")]
    decoded = ConsentCookieCodec(ANALYTICS_V2, [KEY]).decode(value, NOW)
    assert isinstance(decoded, ConsentState)
    assert decoded.granted == {"necessary", "personalisation", "session_personalisation"}
    assert decoded.pending == decoded.changed == {"analytics"}


def test_a_first_format_cookie_of_another_layout_or_version_is_outdated() -> None:
    value = FIRST_FORMAT[("analytics",)]
    for policy in (WITH_SURVEYS, ConsentPolicy.default(version="2")):
        assert ConsentCookieCodec(policy, [KEY]).decode(value, NOW) is CookieProblem.OUTDATED


def test_a_first_format_cookie_works_through_the_middleware_and_the_next_choice_is_new() -> None:
    shop = _shop(POLICY)
    cookie = first_format(["analytics"], int(time.time()))
    _give(shop, cookie)
    state = json.loads(shop.get("/consent/state").text)
    assert state["decided"] is True and state["pending"] == {}
    assert state["purposes"]["analytics"] is True
    assert 'class="consent-banner"' not in shop.get("/").text
    answer = _post(shop, "save", ["analytics", "marketing"])
    value = _cookie(answer)
    assert value.startswith("2.")
    # The browser keeps its consent id.
    assert value.split(".")[-2] == "format1-consent-id-0001"


# -- asking about one purpose ---------------------------------------------------------------------


def test_a_new_purpose_asks_only_about_itself() -> None:
    before = _shop(POLICY)
    _post(before, "save", ["analytics"])
    cookie = before.cookies["consent"]

    shop = _shop(WITH_SURVEYS)
    _give(shop, cookie)
    state = json.loads(shop.get("/consent/state").text)
    assert state["decided"] is True
    assert state["pending"] == {"surveys": "new"}
    assert [p for p, on in state["purposes"].items() if on] == ["necessary", "analytics"]
    banner = shop.get("/").text
    assert "Since your last choice, this shop asks about:" in banner
    assert "Answer short surveys (new since your last choice)." in banner
    assert "Remember my preferences" not in banner  # chosen before: not asked again
    assert re.findall(r'name="asked" value="(\w+)"', banner) == ["surveys"]
    # "Accept all" on that banner grants the new purpose alone; the refusals stay.
    _post(shop, "accept_all", asked=["surveys"])
    state = json.loads(shop.get("/consent/state").text)
    assert state["pending"] == {}
    assert [p for p, on in state["purposes"].items() if on] == [
        "necessary",
        "analytics",
        "surveys",
    ]
    assert 'class="consent-banner"' not in shop.get("/").text


def test_a_changed_purpose_version_asks_only_about_that_purpose() -> None:
    before = _shop(POLICY)
    _post(before, "save", ["personalisation", "analytics"])
    cookie = before.cookies["consent"]

    shop = _shop(ANALYTICS_V2)
    _give(shop, cookie)
    state = json.loads(shop.get("/consent/state").text)
    assert state["pending"] == {"analytics": "changed"}
    assert state["purposes"]["analytics"] is False  # not until asked again
    assert state["purposes"]["personalisation"] is True
    assert state["mode"] == "personalised"
    banner = shop.get("/").text
    assert "Measure how the shop is used (changed since your last choice)." in banner
    centre = shop.get("/consent").text
    assert "(changed since your last choice)" in centre
    _post(shop, "reject_all", asked=["analytics"])
    state = json.loads(shop.get("/consent/state").text)
    assert state["pending"] == {}
    on = [p for p, granted in state["purposes"].items() if granted]
    assert on == ["necessary", "session_personalisation", "personalisation"]


def test_the_policy_version_asks_about_everything() -> None:
    before = _shop(POLICY)
    _post(before, "save", ["analytics"])
    cookie = before.cookies["consent"]

    shop = _shop(ConsentPolicy.default(version="2"))
    _give(shop, cookie)
    state = json.loads(shop.get("/consent/state").text)
    assert state["decided"] is False and state["pending"] == {}
    assert not any(on for p, on in state["purposes"].items() if p != "necessary")
    banner = shop.get("/").text
    assert "With your permission this shop would use:" in banner
    assert 'name="asked"' not in banner


def test_the_context_tells_the_app_what_awaits_a_choice_in_declared_order() -> None:
    state = ConsentState(
        "c" * 22,
        WITH_SURVEYS.grant(["personalisation"]),
        NOW,
        pending=frozenset({"surveys", "analytics"}),
        changed=frozenset({"analytics"}),
    )
    ctx = PersonalisationContext(WITH_SURVEYS, state)
    assert list(ctx.pending.items()) == [("analytics", "changed"), ("surveys", "new")]
    assert ctx.decided
    assert not ctx.allows("surveys") and not ctx.allows("analytics")
    assert PersonalisationContext(WITH_SURVEYS).pending == {}


def test_a_purpose_pending_in_an_opt_out_region_starts_granted_there() -> None:
    state = ConsentState(
        "c" * 22, ANALYTICS_V2.grant([]), NOW, frozenset({"analytics"}), frozenset({"analytics"})
    )
    ctx = PersonalisationContext(ANALYTICS_V2, state)
    ctx.locate("US-CA")
    assert ctx.allows("analytics") and not ctx.allows("marketing")
    assert ctx.on_by_default == {"analytics"}


def test_the_cookie_records_which_version_was_agreed_to() -> None:
    codec = ConsentCookieCodec(ANALYTICS_V2, [KEY])
    value = codec.encode(ConsentState("c" * 22, ANALYTICS_V2.grant(["analytics"]), NOW))
    assert codec.decode(value, NOW) == ConsentState(
        "c" * 22, ANALYTICS_V2.grant(["analytics"]), NOW
    )
    v3 = ConsentPolicy(
        [
            dataclasses.replace(p, version="3") if p.id == "analytics" else p
            for p in POLICY.purposes
        ],
        version=POLICY.version,
    )
    decoded = ConsentCookieCodec(v3, [KEY]).decode(value, NOW)
    assert isinstance(decoded, ConsentState) and decoded.changed == {"analytics"}
    # Under the unversioned purpose the agreement to version 2 is not valid either.
    decoded = ConsentCookieCodec(POLICY, [KEY]).decode(value, NOW)
    assert isinstance(decoded, ConsentState) and decoded.pending == {"analytics"}


def test_a_version_is_declared_in_python_and_toml() -> None:
    policy = ConsentPolicy.from_mapping(
        {
            "version": "1",
            "purposes": [
                {"id": "necessary", "label": "N", "required": True},
                {"id": "analytics", "label": "A", "version": "2026-11"},
            ],
        }
    )
    assert policy.purpose("analytics").version == "2026-11"
    with pytest.raises(ConfigurationError, match="version must be a non-empty string"):
        ConsentPolicy.from_mapping(
            {"version": "1", "purposes": [{"id": "analytics", "label": "A", "version": 2}]}
        )
    with pytest.raises(ConfigurationError, match="version must be a non-empty string"):
        Purpose("analytics", "A", version=" ")


# -- the ledger -----------------------------------------------------------------------------------


@pytest.fixture(params=KINDS)
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/ledger.db"
        return
    with postgres_schema() as schema:
        yield postgres_url(schema)


def test_the_ledger_records_the_versions_a_choice_covered(ledger_url: str) -> None:
    app = ConsentWSGIMiddleware(_page, secret_keys=[KEY], secure=False, ledger=ledger_url)
    before = webtest.TestApp(app)
    _post(before, "save", ["analytics"])
    cookie = before.cookies["consent"]
    app.close()
    # analytics gets version 2, and a new purpose: the shopper answers both.
    both = ConsentPolicy(
        [*ANALYTICS_V2.purposes, Purpose("surveys", "Surveys", version="1")], version="1"
    )
    app = ConsentWSGIMiddleware(
        _page, policy=both, secret_keys=[KEY], secure=False, ledger=ledger_url
    )
    shop = webtest.TestApp(app)
    _give(shop, cookie)
    _post(shop, "reject_all", asked=["analytics", "surveys"])
    history = json.loads(shop.get("/consent/data").text)["history"]
    app.close()
    assert [(e["versions"], e["refused"]) for e in history] == [
        ({}, ["marketing", "personalisation", "session_personalisation"]),
        (
            {"analytics": "2", "surveys": "1"},
            ["analytics", "marketing", "personalisation", "session_personalisation", "surveys"],
        ),
    ]
    if ledger_url.startswith("sqlite:///"):
        with sqlite3.connect(ledger_url.removeprefix("sqlite:///")) as db:
            rows = [json.loads(v) for (v,) in db.execute("SELECT versions FROM consent_events")]
        assert rows == [{}, {"analytics": "2", "surveys": "1"}]


def test_a_partial_answer_leaves_unasked_purposes_pending_and_out_of_the_refusals() -> None:
    shop = _shop(WITH_SURVEYS)
    _post(shop, "reject_all", asked=["surveys"])  # no choice before: only surveys answered
    state = json.loads(shop.get("/consent/state").text)
    assert state["decided"] is True
    assert list(state["pending"]) == [p.id for p in POLICY.optional]


def test_a_ledger_of_schema_three_gets_the_versions_column(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    SQLiteLedger(path).close()
    db = sqlite3.connect(path)
    db.executescript(
        "DROP TABLE consent_counts;"
        "ALTER TABLE consent_events DROP COLUMN signal;"
        "ALTER TABLE consent_events DROP COLUMN versions;"
        "UPDATE consent_ledger_meta SET value = '3' WHERE key = 'schema_version';"
        "INSERT INTO consent_events (event_id, consent_id, time, policy_version, granted,"
        " refused, method, kind, language, recorded) VALUES ('e1', 'browser-one-000000', 1.0,"
        " '1', '[\"necessary\"]', '[]', 'banner', 'given', 'en', 1.0);"
    )
    db.close()
    ledger = SQLiteLedger(path)
    (event,) = ledger.history("browser-one-000000")
    ledger.close()
    assert event.versions == ()


# -- the shop -------------------------------------------------------------------------------------

_ENV = install(jinja2.Environment(autoescape=True))
_PAGE = _ENV.from_string("<html><body>{{ consent_banner() }}<main>Tea</main></body></html>")


def _page(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    body = _PAGE.render(consent=get_context(environ)).encode()
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
    return [body]


def _shop(policy: ConsentPolicy) -> webtest.TestApp:
    return webtest.TestApp(
        ConsentWSGIMiddleware(_page, policy=policy, secret_keys=[KEY], secure=False)
    )


def _post(
    shop: webtest.TestApp, action: str, purposes: Iterable[str] = (), asked: Iterable[str] = ()
) -> Any:
    page = shop.get("/consent").text
    token = html.unescape(re.search(r'name="csrf_token" value="([^"]+)"', page).group(1))  # type: ignore[union-attr]
    fields = [("action", action), ("csrf_token", token), ("method", "banner")]
    fields += [("purpose", p) for p in purposes] + [("asked", p) for p in asked]
    answer = shop.post("/consent", fields, headers={"Origin": "http://localhost"})
    assert answer.status_int == 303, answer.text
    return answer


def _give(shop: webtest.TestApp, value: str) -> None:
    """Put a consent cookie in the shop's browser as if the shop had set it, so that the
    shop's next one replaces it (WebTest's set_cookie() keeps it apart, and quotes it)."""
    shop.get("/consent")  # sets the form's cookie: a cookie as the browser keeps them
    cookie = copy.copy(next(c for c in shop.cookiejar if c.name == "consent_csrf"))
    cookie.name, cookie.value = "consent", value
    shop.cookiejar.set_cookie(cookie)


def _cookie(answer: Any) -> str:
    for name, value in answer.headerlist:
        if name == "Set-Cookie" and value.startswith("consent="):
            return str(value.partition("=")[2].partition(";")[0])
    raise AssertionError("no consent cookie")
