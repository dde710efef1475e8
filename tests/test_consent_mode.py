"""Google Consent Mode v2 from the consent: the default before any tag, the update once the
shopper has decided (here or in another manager), GPC, the mapping, and the same script
from Jinja2 and from Django, through ASGI, WSGI and Django."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import jinja2
import pytest
from django.template import Context, Template
from django.test import Client, override_settings
from flask import Flask, render_template_string
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from consent_middleware import (
    ConfigurationError,
    ConsentError,
    ConsentMiddleware,
    ConsentPolicy,
    ConsentWSGIMiddleware,
    PersonalisationContext,
    get_context,
)
from consent_middleware.core.codec import ConsentState
from consent_middleware.interop import (
    CONSENT_MODE_KEYS,
    DEFAULT_CONSENT_MODE,
    ConsentMode,
    ExternalDecision,
    OneTrust,
)
from consent_middleware.jinja import install
from consent_middleware.web.engine import ConsentEngine

from .conftest import KEY, make_cookie
from .django_project import setup
from .shopper import Shopper
from .test_external_sources import optanon

setup()

POLICY = ConsentPolicy.default()
ENGINE = ConsentEngine(policy=POLICY, secret_keys=[KEY], secure=False)
DENIED = dict.fromkeys(CONSENT_MODE_KEYS, "denied") | {"security_storage": "granted"}
PRELUDE = (
    "window.dataLayer=window.dataLayer||[];"
    "window.gtag=window.gtag||function(){window.dataLayer.push(arguments);};"
)
CALL = re.compile(r'gtag\("consent","(default|update)",(\{[^}]*\})\);')


def context(
    *granted: str,
    decided: bool = True,
    gpc: bool = False,
    external: ExternalDecision | None = None,
) -> PersonalisationContext:
    state = ConsentState("m" * 22, POLICY.grant(granted), 0) if decided else None
    return PersonalisationContext(POLICY, state, gpc, ENGINE, "", "/consent", "/", None, external)


def jinja(source: str = "{{ consent_mode_script() }}", **values: Any) -> str:
    return install(jinja2.Environment()).from_string(source).render(**values)


def calls(html: str) -> list[tuple[str, dict[str, Any]]]:
    """The Consent Mode calls of a page's script, in order."""
    found = re.search(r"<script[^>]*>(.*?)</script>", html, re.DOTALL)
    assert found, html
    script = found.group(1)
    assert script.startswith(PRELUDE), script
    parsed = [(kind, json.loads(args)) for kind, args in CALL.findall(script)]
    assert "".join(CALL.sub("", script.removeprefix(PRELUDE))) == ""  # nothing else in it
    return parsed


# -- what the script says -----------------------------------------------------------------


def test_undecided_is_the_default_alone_denying_all_but_security() -> None:
    ctx = context(decided=False)
    html = jinja(consent=ctx)
    assert html.startswith("<script>") and html.endswith("</script>")
    assert calls(html) == [("default", {**DENIED, "wait_for_update": 500})]


@pytest.mark.parametrize(
    ("granted", "update"),
    [
        pytest.param((), {}, id="rejected"),
        pytest.param(("analytics",), {"analytics_storage": "granted"}, id="analytics"),
        pytest.param(
            ("marketing",),
            dict.fromkeys(("ad_storage", "ad_user_data", "ad_personalization"), "granted"),
            id="marketing",
        ),
        pytest.param(
            ("session_personalisation",), {"functionality_storage": "granted"}, id="guest"
        ),
        pytest.param(
            ("personalisation",),
            {"functionality_storage": "granted", "personalization_storage": "granted"},
            id="personalised",
        ),
        pytest.param(
            ("personalisation", "analytics", "marketing"),
            dict.fromkeys(CONSENT_MODE_KEYS, "granted"),
            id="everything",
        ),
    ],
)
def test_a_decision_adds_the_matching_update(
    granted: tuple[str, ...], update: dict[str, str]
) -> None:
    default, updated = calls(jinja(consent=context(*granted)))
    assert default == ("default", {**DENIED, "wait_for_update": 500})
    assert updated == ("update", {**DENIED, **update})


def test_gpc_denies_the_advertising_keys_in_the_update() -> None:
    (_, (_, update)) = calls(jinja(consent=context("marketing", "analytics", gpc=True)))
    assert update == {**DENIED, "analytics_storage": "granted"}
    # Undecided with GPC: the default alone, which denies them already.
    assert [kind for kind, _ in calls(jinja(consent=context(decided=False, gpc=True)))] == [
        "default"
    ]


def test_a_decision_made_in_another_manager_updates_too() -> None:
    external = ExternalDecision("onetrust", "OneTrust", POLICY.grant(["analytics"]))
    (_, (kind, update)) = calls(jinja(consent=context(decided=False, external=external)))
    assert (kind, update) == ("update", {**DENIED, "analytics_storage": "granted"})


def test_rendering_it_makes_the_page_vary_but_not_private() -> None:
    ctx = context("analytics")
    jinja(consent=ctx)
    assert ctx.varies is True
    assert ctx.personal is False


def test_the_default_mapping_is_the_documented_one() -> None:
    assert dict(DEFAULT_CONSENT_MODE) == {
        "ad_storage": ("marketing",),
        "ad_user_data": ("marketing",),
        "ad_personalization": ("marketing",),
        "analytics_storage": ("analytics",),
        "functionality_storage": ("session_personalisation",),
        "personalization_storage": ("personalisation",),
        "security_storage": (),
    }


def test_the_mapping_wait_and_regions_are_configurable() -> None:
    source = (
        "{{ consent_mode_script(mapping={'functionality_storage': [], "
        "'analytics_storage': ['analytics', 'marketing'], 'ad_user_data': none}, "
        "wait_for_update=1200, regions=['DE', 'US-CA']) }}"
    )
    default, update = calls(jinja(source, consent=context("analytics", "marketing")))
    assert default == (
        "default",
        {
            **DENIED,
            "functionality_storage": "granted",
            "wait_for_update": 1200,
            "region": ["DE", "US-CA"],
        },
    )
    assert update == (
        "update",
        {
            **DENIED,
            "functionality_storage": "granted",
            "analytics_storage": "granted",
            "ad_storage": "granted",
            "ad_personalization": "granted",
        },
    )
    mode = ConsentMode({"analytics_storage": None}, wait_for_update=0)
    (default_only,) = calls(
        jinja("{{ consent_mode_script(mode=m) }}", m=mode, consent=context(decided=False))
    )
    assert default_only[1]["wait_for_update"] == 0


def test_a_nonce_is_put_on_the_script_escaped() -> None:
    html = jinja("{{ consent_mode_script(nonce='r4nd0m+/=') }}", consent=context())
    assert html.startswith('<script nonce="r4nd0m+/=">')
    hostile = jinja(
        "{{ consent_mode_script(nonce=n) }}", n='"><script>alert(1)</script>', consent=context()
    )
    assert hostile.startswith('<script nonce="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;">')
    assert hostile.count("<script") == 1
    assert jinja("{{ consent_mode_script(nonce='') }}", consent=context()).startswith("<script>")


def test_the_script_holds_nothing_that_could_end_it() -> None:
    html = str(jinja(consent=context("marketing")))
    inside = html.removeprefix("<script>").removesuffix("</script>")
    assert not {"<", ">"} & set(inside)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        pytest.param(
            lambda: ConsentMode({"ads_storage": "marketing"}),
            "'ads_storage' is not a Consent Mode key",
            id="key",
        ),
        pytest.param(lambda: ConsentMode({"ad_storage": 3}), "give a purpose id", id="value"),
        pytest.param(lambda: ConsentMode(["ad_storage"]), "must be a mapping", id="list"),
        pytest.param(lambda: ConsentMode(wait_for_update=-1), "from 0 to 60000", id="negative"),
        pytest.param(lambda: ConsentMode(wait_for_update="500"), "from 0 to 60000", id="str"),
        pytest.param(lambda: ConsentMode(regions="DE"), "a list of region codes", id="one-str"),
        pytest.param(
            lambda: ConsentMode(regions=["de"]), "'de' is not an ISO 3166 code", id="case"
        ),
        pytest.param(
            lambda: ConsentMode(regions=["DE');"]), "is not an ISO 3166 code", id="hostile"
        ),
    ],
)
def test_a_wrong_consent_mode_names_its_fix(make: Any, message: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        make()
    assert message in str(raised.value)


def test_an_unknown_purpose_in_a_given_mapping_is_a_programming_error() -> None:
    with pytest.raises(ConsentError, match="unknown purpose 'analytic'; the policy declares"):
        jinja(
            "{{ consent_mode_script(mapping={'analytics_storage': 'analytic'}) }}",
            consent=context(),
        )
    with pytest.raises(ConsentError, match="takes a ConsentMode, and then no mapping"):
        jinja(
            "{{ consent_mode_script(mode=m, wait_for_update=9) }}",
            m=ConsentMode(),
            consent=context(),
        )
    with pytest.raises(ConsentError, match="CSP nonce, a string"):
        jinja("{{ consent_mode_script(nonce=3) }}", consent=context())


def test_the_default_mapping_denies_what_a_policy_does_not_declare() -> None:
    policy = ConsentPolicy([POLICY.purpose("necessary"), POLICY.purpose("analytics")], version="2")
    engine = ConsentEngine(policy=policy, secret_keys=[KEY], secure=False)
    state = ConsentState("n" * 22, policy.grant(["analytics"]), 0)
    ctx = PersonalisationContext(policy, state, False, engine, "", "/consent", "/")
    (_, (_, update)) = calls(jinja(consent=ctx))
    assert update == {**DENIED, "analytics_storage": "granted"}


# -- the Django tag -------------------------------------------------------------------------


def django(source: str, **values: Any) -> str:
    return Template("{% load consent %}" + source).render(Context(values))


@pytest.mark.parametrize(
    "ctx",
    [
        pytest.param(lambda: context(decided=False), id="undecided"),
        pytest.param(lambda: context("personalisation", "analytics"), id="decided"),
        pytest.param(lambda: context("marketing", gpc=True), id="gpc"),
        pytest.param(
            lambda: context(
                decided=False,
                external=ExternalDecision("tcf", "IAB TCF", POLICY.grant(["marketing"])),
            ),
            id="external",
        ),
    ],
)
def test_the_django_tag_prints_what_the_jinja_helper_prints(ctx: Any) -> None:
    consent = ctx()
    assert django("{% consent_mode_script %}", consent=consent) == jinja(consent=consent)
    tag = "{% consent_mode_script nonce=nonce wait_for_update=800 regions=regions %}"
    helper = "{{ consent_mode_script(nonce=nonce, wait_for_update=800, regions=regions) }}"
    values = {"consent": consent, "nonce": '"n"', "regions": ["FR", "ES-CT"]}
    assert django(tag, **values) == jinja(helper, **values)
    assert 'nonce="&#34;n&#34;"' in django(tag, **values)


# -- through the middleware ---------------------------------------------------------------

PAGE = "<html><head>{{ consent_mode_script(nonce='abc') }}</head></html>"
THEIRS = f"OptanonConsent={optanon('C0001:1,C0002:1,C0003:0,C0004:0')}"
ANALYTICS_ONLY = {**DENIED, "analytics_storage": "granted"}


def starlette_shop() -> Any:
    page = install(jinja2.Environment(autoescape=True)).from_string(PAGE)

    async def home(request: Request) -> Response:
        return HTMLResponse(page.render(consent=get_context(request)))

    app = Starlette(routes=[Route("/", home)])
    return ConsentMiddleware(app, secret_keys=[KEY], secure=False, external=[OneTrust()])


def flask_shop() -> Any:
    app = Flask(__name__)
    install(app.jinja_env)
    app.add_url_rule("/", "home", lambda: render_template_string(PAGE))
    app.wsgi_app = ConsentWSGIMiddleware(  # type: ignore[method-assign]
        app.wsgi_app, secret_keys=[KEY], secure=False, external=[OneTrust()]
    )
    return app


@pytest.mark.parametrize("make", [starlette_shop, flask_shop], ids=["asgi", "wsgi"])
def test_a_shop_behind_onetrust_tells_the_tags(make: Any) -> None:
    with Shopper(make()) as shopper:
        undecided = shopper.get("/")
        assert calls(undecided.text) == [("default", {**DENIED, "wait_for_update": 500})]
        assert undecided.headers.get("vary") == "Cookie"
        assert "private" not in undecided.headers.get("cache-control", "")
        assert undecided.text.startswith('<html><head><script nonce="abc">')
        shopper.set_cookie(*THEIRS.split("=", 1))
        (_, update) = calls(shopper.get("/").text)
        assert update == ("update", ANALYTICS_ONLY)
        # A choice in our own banner wins from then on.
        assert shopper.choose("reject_all").status == 303
        (_, rejected) = calls(shopper.get("/").text)
        assert rejected == ("update", DENIED)


def test_a_django_shop_behind_onetrust_tells_the_tags() -> None:
    settings = {"secret_keys": [KEY], "secure": False, "external": [OneTrust()]}
    with override_settings(CONSENT_MIDDLEWARE=settings):
        client = Client()
        undecided = client.get("/page/consent_mode?nonce=abc")
        text = undecided.content.decode()
        assert '<head><script nonce="abc">' in text
        assert calls(text) == [("default", {**DENIED, "wait_for_update": 500})]
        assert undecided["Vary"] == "Cookie"
        assert not undecided.has_header("Cache-Control")
        decided = client.get("/page/consent_mode", headers={"Cookie": THEIRS}).content.decode()
        assert "<head><script>" in decided
        assert calls(decided)[1] == ("update", ANALYTICS_ONLY)
        cookie = make_cookie(("marketing",), decided_at=int(time.time()))
        ours = client.get("/page/consent_mode", headers={"Cookie": f"{THEIRS}; consent={cookie}"})
        assert calls(ours.content.decode())[1] == (
            "update",
            {
                **DENIED,
                **dict.fromkeys(("ad_storage", "ad_user_data", "ad_personalization"), "granted"),
            },
        )


def test_autoescaping_leaves_the_script_as_it_is() -> None:
    escaped = install(jinja2.Environment(autoescape=True)).from_string(
        "{{ consent_mode_script() }}"
    )
    assert escaped.render(consent=context()) == jinja(consent=context())
    assert jinja(consent=context()).startswith("<script>window.dataLayer")
