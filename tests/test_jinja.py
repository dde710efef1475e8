"""The Jinja2 helpers with a bare environment, with Starlette's Jinja2Templates and with
Flask, including hostile text in every place a policy or a host can put it."""

from __future__ import annotations

import asyncio
import json
import re
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import jinja2
import pytest
import webtest
from flask import Flask, render_template_string
from markupsafe import Markup
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from consent_middleware import (
    ConsentError,
    ConsentMiddleware,
    ConsentPolicy,
    ConsentWSGIMiddleware,
    MiddlewareNotInstalled,
    PersonalisationContext,
    Purpose,
    Signal,
    SignalScope,
)
from consent_middleware.core.codec import ConsentState
from consent_middleware.core.reasons import Reason, retention_text
from consent_middleware.jinja import install
from consent_middleware.ui import render as helpers
from consent_middleware.web.engine import ConsentEngine

from .conftest import KEY, make_cookie

POLICY = ConsentPolicy.from_toml(Path(__file__).parent.parent / "examples" / "policy.toml")
HOSTILE = "<script>alert('x')</script> \"quoted\" {{ 7*7 }} & more"


def context(*granted: str, policy: ConsentPolicy = POLICY, decided: bool = True) -> Any:
    engine = ConsentEngine(policy=policy, secret_keys=[KEY], secure=False)
    state = ConsentState("j" * 22, policy.grant(granted), 0) if decided else None
    return PersonalisationContext(policy, state, False, engine, "", "/consent", "/products/tea")


def render(source: str, **values: Any) -> str:
    env = install(jinja2.Environment())  # autoescape off: the helpers must escape anyway
    return env.from_string(source).render(**values)


# -- the consent tag ----------------------------------------------------------------------


@pytest.mark.parametrize(("granted", "shown"), [(("analytics",), "A"), ((), "B")])
def test_consent_tag_gates_on_the_server(granted: tuple[str, ...], shown: str) -> None:
    source = '{% consent "analytics" %}A{% else %}B{% endconsent %}'
    assert render(source, consent=context(*granted)) == shown


def test_consent_tag_without_else() -> None:
    source = '[{% consent "marketing" %}<script src="/pixel.js"></script>{% endconsent %}]'
    assert render(source, consent=context("analytics")) == "[]"
    assert render(source, consent=context("marketing")) == '[<script src="/pixel.js"></script>]'


def test_consent_tag_unknown_purpose_is_a_programming_error() -> None:
    with pytest.raises(ConsentError, match="unknown purpose 'analytic'"):
        render('{% consent "analytic" %}A{% endconsent %}', consent=context())


def test_helpers_without_a_context_say_what_to_do() -> None:
    with pytest.raises(MiddlewareNotInstalled, match="pass consent=get_context"):
        render("{{ consent_banner() }}")


def test_install_twice_keeps_one_package_loader() -> None:
    env = install(install(jinja2.Environment(loader=jinja2.DictLoader({}))))
    assert isinstance(env.loader, jinja2.ChoiceLoader)
    assert len(env.loader.loaders) == 2


# -- why() --------------------------------------------------------------------------------


def test_why_for_a_personal_reason() -> None:
    ctx = context("personalisation")
    reason = ctx.reason("favourite_categories", text="Because you like Tea")
    html = render("{{ why(reason) }}", consent=ctx, reason=reason)
    assert html.startswith(
        '<details class="consent-why">\n<summary>Why am I seeing this?</summary>'
    )
    assert "<p>Because you like Tea</p>" in html
    assert (
        "<li>Categories you told us you like, under your choice &ldquo;Remember my "
        "preferences&rdquo;; kept for 365 days.\n"
        '<form method="post" action="/consent/signals" class="consent-why-actions">'
    ) in html
    assert '<input type="hidden" name="next" value="/products/tea">' in html
    assert '<input type="hidden" name="signal" value="favourite_categories">' in html
    assert '<button type="submit" name="action" value="stop">Don\'t use this</button>' in html
    assert "Forget this item" not in html  # the reason names no value
    assert '<a href="/consent?next=%2Fproducts%2Ftea">Change what is used</a>' in html


def test_why_offers_to_forget_the_value_that_chose_the_item() -> None:
    ctx = context("personalisation")
    reason = ctx.reason(
        "viewed_products", "favourite_categories", text="You viewed a mug", value="mug<1>"
    )
    html = render("{{ why(reason) }}", consent=ctx, reason=reason)
    token = ctx.csrf_token
    assert html.count('<form method="post" action="/consent/signals"') == 2
    # Two signals to switch off, and the feedback ("Too personal" switches them off too).
    assert html.count(f'<input type="hidden" name="csrf_token" value="{token}">') == 3
    # Only the first signal chose the value; each signal can be switched off.
    first, second = html.split("</ul>")[0].split("<li>")[1:]
    assert '<input type="hidden" name="value" value="mug&lt;1&gt;">' in first
    assert "Forget this item" in first and "Forget this item" not in second
    assert "Don't use this" in first and "Don't use this" in second
    assert '<input type="hidden" name="signal" value="favourite_categories">' in second


def test_why_offers_no_controls_without_a_decision_of_this_shop() -> None:
    policy = POLICY
    state = ConsentState("j" * 22, policy.grant(["personalisation"]), 0)
    bare = PersonalisationContext(policy, state, False, None, "", "/consent", "/")
    html = render("{{ why(r) }}", consent=bare, r=bare.reason("viewed_products", text="x"))
    assert "/consent/signals" not in html and "csrf_token" not in html
    assert "What was used" in html


def test_why_for_a_general_reason_and_for_items() -> None:
    ctx = context()
    general = ctx.general_reason()
    html = render("{{ why(item) }}", consent=ctx, item={"name": "Tea", "reason": general})
    assert "none of your data was used" in html
    assert "What was used" not in html

    class Item:
        reason = general

    assert render("{{ why(item) }}", consent=ctx, item=Item()) == html
    with pytest.raises(ConsentError, match="why\\(\\) needs a Reason"):
        render("{{ why(item) }}", consent=ctx, item={"name": "Tea"})


def hostile_policy() -> ConsentPolicy:
    purposes = [
        Purpose("necessary", HOSTILE, HOSTILE, required=True),
        Purpose("session_personalisation", HOSTILE, HOSTILE),
        Purpose("personalisation", HOSTILE, HOSTILE, implies=("session_personalisation",)),
    ]
    signals = [
        Signal("viewed", HOSTILE, "session_personalisation", description=HOSTILE),
        Signal(
            "liked",
            HOSTILE,
            "personalisation",
            scope=SignalScope.PERSISTENT,
            retention=timedelta(days=30),
            choices=(HOSTILE, "Tea"),
            description=HOSTILE,
        ),
    ]
    return ConsentPolicy(purposes, version="1", signals=signals)


def assert_escaped(html: str) -> None:
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert "&#34;quoted&#34;" in html
    assert "{{ 7*7 }}" in html
    # Evaluated, the expression would have left "49" between the quotes and the ampersand.
    assert "&#34; 49 &amp;" not in html and '" 49 &' not in html


def test_hostile_text_is_escaped_everywhere() -> None:
    policy = hostile_policy()
    ctx = context("personalisation", policy=policy)
    reason = ctx.reason("viewed", "liked", text=HOSTILE)
    source = (
        "{{ why(reason) }}{{ preference_centre() }}{{ privacy_choices_link() }}"
        "{{ consent_banner() }}"
    )
    assert_escaped(render(source, consent=ctx, reason=reason))
    undecided = context(policy=policy, decided=False)
    assert_escaped(render("{{ consent_banner() }}", consent=undecided))


def test_hostile_next_path_stays_inside_attributes() -> None:
    ctx = context()
    ctx.path = '/x"><script>alert(1)</script>'
    html = render("{{ privacy_choices_link() }}{{ why(r) }}", consent=ctx, r=ctx.general_reason())
    assert "<script>" not in html
    assert 'href="/consent?next=%2Fx%22%3E%3Cscript%3Ealert%281%29%3C%2Fscript%3E"' in html


# -- the banner, the preference centre, the state -----------------------------------------


def test_banner_until_a_choice_is_made() -> None:
    html = render("{{ consent_banner() }}", consent=context(decided=False))
    buttons = re.findall(r'<button type="submit" class="consent-button"([^>]*)>([^<]+)<', html)
    assert [label for _, label in buttons] == ["Accept all", "Reject all", "Customise"]
    assert "checkbox" not in html
    assert 'aria-labelledby="consent-banner-title"' in html
    for purpose in POLICY.optional:
        assert purpose.label in html or purpose.label.lower() in html
    assert "Sensitive uses (use my interest in health products) are only ever" in html
    assert '<input type="hidden" name="next" value="/products/tea">' in html
    assert render("{{ consent_banner() }}", consent=context("analytics")) == ""


def test_preference_centre_asks_for_preferences_only_once_personalised() -> None:
    guest = render("{{ preference_centre() }}", consent=context("session_personalisation"))
    assert "Your preferences" not in guest
    assert "Browse without personalisation" in guest
    personal = render("{{ preference_centre() }}", consent=context("personalisation"))
    assert "Your preferences" in personal
    assert re.findall(r'name="favourite_categories" value="(\w+)"', personal) == [
        "Tea",
        "Books",
        "Garden",
        "Kitchen",
    ]
    assert "Products you viewed in this visit: kept for this visit only" in personal
    assert "(sensitive: only if you tick it here)" in personal
    undecided = render("{{ preference_centre() }}", consent=context(decided=False))
    assert "consent-switch" not in undecided
    rejected = render("{{ preference_centre() }}", consent=context())
    assert "Personalise my shopping" in rejected


def test_state_json_has_no_identifier_and_is_script_safe() -> None:
    ctx = context("analytics")
    text = render("<script>const s = {{ consent_state_json() }};</script>", consent=ctx)
    data = json.loads(text.removeprefix("<script>const s = ").removesuffix(";</script>"))
    assert data["purposes"]["analytics"] is True
    assert data["mode"] == "non_personalised"
    assert "j" * 22 not in text


def test_state_json_escapes_markup_in_the_policy_version() -> None:
    """The version is the shop's free text and reaches the JSON: ``</script>``, ``<!--`` or
    ``&`` in it must not end or alter the script element."""
    version = "</script><script>alert(1)</script><!-- & -->"
    policy = ConsentPolicy(POLICY.purposes, version=version, signals=POLICY.signals)
    source = "<script>const s = {{ consent_state_json() }};</script>"
    text = render(source, consent=context("analytics", policy=policy))
    inner = text.removeprefix("<script>const s = ").removesuffix(";</script>")
    assert not {"<", ">", "&"} & set(inner), inner
    assert json.loads(inner)["policy_version"] == version


def test_templates_can_be_overridden_by_name() -> None:
    env = install(
        jinja2.Environment(loader=jinja2.DictLoader({"consent/why.html": "[{{ reason.text }}]"}))
    )
    ctx = context()
    assert env.from_string("{{ why(r) }}").render(consent=ctx, r=ctx.general_reason()) == (
        "[Popular with all shoppers this week; none of your data was used.]"
    )


# -- through real requests ----------------------------------------------------------------

PAGE = """<!doctype html><html lang="en"><body>{{ consent_banner() }}
<nav>{{ privacy_choices_link() }}</nav>
<main><h1>{{ title }}</h1>
{% for item in items %}<article><h2>{{ item.name }}</h2>{{ why(item) }}</article>{% endfor %}
{% consent "analytics" %}<script src="/analytics.js"></script>{% endconsent %}
</main></body></html>"""


def items_for(ctx: PersonalisationContext) -> list[dict[str, Any]]:
    if ctx.may_use("favourite_categories"):
        reason = ctx.reason("favourite_categories", text="Because you like Tea")
    else:
        reason = ctx.general_reason()
    return [{"name": HOSTILE, "reason": reason}]


def starlette_shop(tmp_path: Path) -> Any:
    (tmp_path / "page.html").write_text(PAGE)
    templates = Jinja2Templates(directory=str(tmp_path))
    install(templates.env)

    async def page(request: Request) -> Response:
        from consent_middleware import get_context

        items = items_for(get_context(request))
        return templates.TemplateResponse(request, "page.html", {"title": "Shop", "items": items})

    return ConsentMiddleware(Starlette(routes=[Route("/", page)]), policy=POLICY, secret_keys=[KEY])


def get_asgi(app: Any, cookies: dict[str, str]) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://shop.test") as c:
            return await c.get(
                "/", headers={"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}
            )

    return asyncio.run(go())


def flask_shop() -> webtest.TestApp:
    app = Flask(__name__)
    install(app.jinja_env)

    @app.route("/")
    def page() -> str:
        from flask import request

        from consent_middleware import get_context

        return render_template_string(PAGE, title="Shop", items=items_for(get_context(request)))

    app.wsgi_app = ConsentWSGIMiddleware(  # type: ignore[method-assign]
        app.wsgi_app, policy=POLICY, secret_keys=[KEY]
    )
    return webtest.TestApp(app)


def get_wsgi(app: webtest.TestApp, cookies: dict[str, str]) -> Any:
    app.reset()
    header = "; ".join(f"{k}={v}" for k, v in cookies.items())
    return app.get("https://shop.test/", headers={"Cookie": header} if header else {})


@pytest.mark.parametrize("kind", ["starlette", "flask"])
def test_pages_through_real_requests(kind: str, tmp_path: Path) -> None:
    def fetch(*granted: str) -> tuple[str, dict[str, str]]:
        cookies = {}
        if granted:
            value = make_cookie(granted, decided_at=int(time.time()), policy=POLICY)
            cookies["__Host-consent"] = value
        if kind == "starlette":
            response = get_asgi(starlette_shop(tmp_path), cookies)
            return response.text, {
                k: ", ".join(response.headers.get_list(k)) for k in response.headers
            }
        result = get_wsgi(flask_shop(), cookies)
        return result.text, {k.lower(): ", ".join(result.headers.getall(k)) for k in result.headers}

    first, headers = fetch()
    assert 'class="consent-banner"' in first
    assert "analytics.js" not in first
    assert "none of your data was used" in first
    assert_escaped(first)
    # The banner's form token comes with its cookie, so the page is not for shared caches.
    assert "__Host-consent_csrf=" in headers["set-cookie"]
    assert headers["cache-control"] == "private"

    measured, headers = fetch("analytics")
    assert 'class="consent-banner"' not in measured
    assert "analytics.js" in measured
    assert "none of your data was used" in measured
    assert "cache-control" not in headers
    assert "Cookie" in headers["vary"]

    personal, headers = fetch("personalisation", "analytics")
    assert "Because you like Tea" in personal
    assert "kept for 365 days" in personal
    assert headers["cache-control"] == "private"
    assert "Cookie" in headers["vary"]


# -- why() is rendered once for each list of signals -----------------------------------


def _why_by_jinja(ctx: PersonalisationContext, reason: Any) -> str:
    """The disclosure as the package's template renders it, without the shortcut."""
    env = install(jinja2.Environment())
    template = env.get_template("consent/why.html")
    personal = bool(reason.signals) and ctx.state is not None
    return template.render(
        reason=reason,
        purpose=ctx.policy.purpose,
        retention_text=retention_text,
        label=lambda item: item.label_for(ctx.language),
        change_url=ctx.change_url(),
        token=ctx.csrf_token if personal else None,
        next=ctx.path,
        signals_url=ctx.consent_path + "/signals",
        feedback_url=ctx.consent_path + "/feedback",
    )


@pytest.mark.parametrize(
    "make_reason",
    [
        pytest.param(lambda c: c.reason("favourite_categories", text="You like Tea"), id="one"),
        pytest.param(
            lambda c: c.reason("favourite_categories", "viewed_products", text="Both"),
            id="two-signals",
        ),
        pytest.param(lambda c: c.general_reason(), id="general"),
        pytest.param(lambda c: c.reason("viewed_products", text=HOSTILE), id="hostile-text"),
        pytest.param(lambda c: c.general_reason(HOSTILE), id="hostile-general"),
        pytest.param(lambda c: c.sponsored_reason(sponsor=HOSTILE), id="sponsored"),
        pytest.param(lambda c: c.reason("tea_lover"), id="segment"),
        pytest.param(lambda c: c.reason("tea_lover", text=HOSTILE), id="segment-own-text"),
        pytest.param(
            lambda c: c.sponsored_reason("viewed_products", sponsor="K & Co", text=HOSTILE),
            id="sponsored-targeted",
        ),
    ],
)
def test_why_is_the_template_rendered_once_per_signal_list(make_reason: Any) -> None:
    ctx = context("personalisation", "marketing")
    ctx.consent_path = '/shop\'s & "co"/consent'
    reason = make_reason(ctx)
    expected = _why_by_jinja(ctx, reason)
    env = install(jinja2.Environment())
    page = env.from_string("{{ why(r) }}|{{ why(r) }}")
    assert page.render(consent=ctx, r=reason) == f"{expected}|{expected}"
    # Another sentence under the same signals reuses the rendering, with its own text.
    other = replace(reason, text="Another <sentence>")
    if reason.sponsor is not None:
        other = replace(other, sponsor="Another <sponsor>")
    assert env.from_string("{{ why(r) }}").render(consent=ctx, r=other) == _why_by_jinja(ctx, other)


def test_why_with_the_hostile_policy_matches_the_template() -> None:
    ctx = context("personalisation", policy=hostile_policy())
    for reason in (ctx.reason("viewed", "liked", text=HOSTILE), ctx.general_reason()):
        html = render("{{ why(r) }}", consent=ctx, r=reason)
        assert html == _why_by_jinja(ctx, reason)
    assert_escaped(render("{{ why(r) }}", consent=ctx, r=ctx.reason("viewed", text=HOSTILE)))


def test_why_follows_each_environment_its_own_template_and_finalize() -> None:
    ctx = context("personalisation")
    reason = ctx.reason("favourite_categories", text="You like Tea")
    own = install(jinja2.Environment())
    overridden = install(
        jinja2.Environment(loader=jinja2.DictLoader({"consent/why.html": "[{{ reason.text }}]"}))
    )
    finalized = install(jinja2.Environment(finalize=lambda value: f"<{value}>"))
    for _ in range(2):
        assert (
            own.from_string("{{ why(r) }}")
            .render(consent=ctx, r=reason)
            .startswith('<details class="consent-why">')
        )
        assert overridden.from_string("{{ why(r) }}").render(consent=ctx, r=reason) == (
            "[You like Tea]"
        )
        # The finalize function sees every value, as in any template of the environment.
        assert "<p>&lt;You like Tea&gt;</p>" in finalized.from_string("{{ why(r) }}").render(
            consent=ctx, r=reason
        )


def test_why_leaves_a_markup_sentence_as_the_template_would() -> None:
    ctx = context()
    reason = Reason(Markup("<b>Hand-picked</b>"))
    assert render("{{ why(r) }}", consent=ctx, r=reason) == _why_by_jinja(ctx, reason)
    assert "<b>Hand-picked</b>" in render("{{ why(r) }}", consent=ctx, r=reason)


def test_why_never_gives_one_page_the_form_fields_of_another() -> None:
    first, second = context("personalisation"), context("personalisation")
    second.path = "/other?a=1&b=2"
    html = [
        render("{{ why(r) }}", consent=ctx, r=ctx.reason("viewed_products", text="Tea"))
        for ctx in (first, second, first)
    ]
    assert first.csrf_token != second.csrf_token
    assert html[0] == html[2] == _why_by_jinja(first, first.reason("viewed_products", text="Tea"))
    assert f'name="csrf_token" value="{second.csrf_token}"' in html[1]
    assert '<input type="hidden" name="next" value="/other?a=1&amp;b=2">' in html[1]
    assert first.csrf_token not in html[1]


# -- what one render of a page keeps for its disclosures --------------------------------


def _mixed_reasons(ctx: PersonalisationContext) -> list[Reason]:
    """One of each kind, as a page may list them: each after one that differs from it
    in one thing only (a sponsor, a value, the segments, the sentence)."""
    personal = ctx.reason("viewed_products", text="You viewed Tea")
    return [
        ctx.general_reason(),
        ctx.sponsored_reason(sponsor="K & Co"),
        personal,
        ctx.reason("viewed_products", text="You viewed <Mugs>", value="mug&1"),
        ctx.reason("viewed_products"),
        ctx.reason("viewed_products", "favourite_categories", text="You viewed Tea"),
        ctx.reason("tea_lover", text="You viewed Tea"),
        ctx.reason("tea_lover"),
        ctx.sponsored_reason("viewed_products", sponsor="K & Co", text=HOSTILE),
        ctx.general_reason(HOSTILE),
        replace(personal, text="Another"),
        ctx.general_reason(),
        personal,
    ]


def test_a_page_of_every_kind_of_reason_shows_each_as_the_template_does() -> None:
    ctx = context("personalisation", "marketing")
    reasons = _mixed_reasons(ctx)
    env = install(jinja2.Environment())
    html = env.from_string("{% for r in reasons %}{{ why(r) }}|{% endfor %}").render(
        consent=ctx, reasons=reasons
    )
    assert html.split("|")[:-1] == [_why_by_jinja(ctx, reason) for reason in reasons]


def test_one_render_gives_each_context_its_own_form_fields() -> None:
    first, second = context("personalisation"), context("personalisation")
    second.path = "/other?a=1&b=2"
    second.consent_path = "/privacy"
    pairs = [(c, c.reason("viewed_products", text="Tea")) for c in (first, second, first)]
    env = install(jinja2.Environment())
    source = "{% for c, r in pairs %}{% set consent = c %}{{ why(r) }}|{% endfor %}"
    html = env.from_string(source).render(consent=first, pairs=pairs)
    assert html.split("|")[:-1] == [_why_by_jinja(c, r) for c, r in pairs]
    assert first.csrf_token != second.csrf_token


def test_each_render_shows_its_contexts_language() -> None:
    engine = ConsentEngine(policy=POLICY, secret_keys=[KEY], secure=False, languages=["en", "de"])
    state = ConsentState("j" * 22, POLICY.grant(["personalisation"]), 0)
    english, german = (
        PersonalisationContext(POLICY, state, False, engine, "", "/consent", "/products/tea")
        for _ in range(2)
    )
    german.language = "de"
    env = install(jinja2.Environment())
    page = env.from_string("{% for c in contexts %}{% set consent = c %}{{ why(r) }}{% endfor %}")
    reason = english.reason("viewed_products")
    both = page.render(consent=english, contexts=[english, german], r=reason)
    assert both.count("Why am I seeing this?") == 1
    assert both.count("Warum sehe ich das?") == 1
    alone = env.from_string("{{ why(r) }}")
    assert "Why am I seeing this?" in alone.render(consent=english, r=reason)
    # The same context, its language changed between two renders.
    english.language = "de"
    shown = alone.render(consent=english, r=reason)
    assert "Warum sehe ich das?" in shown and "Why am I seeing this?" not in shown
    assert "Suggested from" not in shown


def test_general_reasons_leave_the_page_shared_until_a_personal_one() -> None:
    ctx = context("personalisation")
    env = install(jinja2.Environment())
    page = env.from_string("{% for r in reasons %}{{ why(r) }}{% endfor %}")
    general = page.render(consent=ctx, reasons=[ctx.general_reason()] * 3)
    assert "csrf_token" not in general
    # What a disclosure says follows the consent: the response varies, but stays shared.
    assert ctx.varies and not ctx.personal and not ctx.new_csrf_nonce
    reasons = [ctx.general_reason(), ctx.reason("viewed_products", text="Tea")]
    mixed = page.render(consent=ctx, reasons=reasons)
    assert f'name="csrf_token" value="{ctx.csrf_token}"' in mixed
    assert ctx.personal and ctx.new_csrf_nonce


def test_disclosures_rendered_one_by_one_keep_each_shoppers_form_fields() -> None:
    # As Django's {% why %} tags render them: a render each, pages alike but for the token.
    shoppers = [context("personalisation") for _ in range(2)]
    shown = [
        str(helpers.why(ctx, ctx.reason("viewed_products", text="Tea")))
        for ctx in (*shoppers, *shoppers)
    ]
    for ctx, html in zip((*shoppers, *shoppers), shown, strict=True):
        assert html == _why_by_jinja(ctx, ctx.reason("viewed_products", text="Tea"))
        assert html.count(f'name="csrf_token" value="{ctx.csrf_token}"') == 2
    assert shoppers[0].csrf_token != shoppers[1].csrf_token


class _Request:
    """What Starlette gives a template as ``request``: the context is in its scope."""

    def __init__(self, ctx: PersonalisationContext) -> None:
        self.scope = {"type": "http", "consent": ctx}


def test_a_template_with_the_request_shows_what_one_with_the_context_does() -> None:
    ctx = context("personalisation", "marketing")
    reasons = _mixed_reasons(ctx)
    page = install(jinja2.Environment()).from_string(
        "{% for r in reasons %}{{ why(r) }}|{% endfor %}"
    )
    through_request = page.render(request=_Request(ctx), reasons=reasons)
    assert through_request == page.render(consent=ctx, reasons=reasons)
    assert through_request.split("|")[:-1] == [_why_by_jinja(ctx, r) for r in reasons]


def test_a_consent_variable_wins_over_the_request_in_the_middle_of_a_page() -> None:
    shopper, other = context("personalisation"), context("personalisation")
    other.path = "/other"
    reason = shopper.reason("viewed_products", text="Tea")
    source = (
        "{{ why(r) }}|{% set consent = other %}"
        "{% for _ in [1] %}{% set seen = true %}{{ why(r) }}|{% endfor %}"
    )
    html = install(jinja2.Environment()).from_string(source)
    first, second = html.render(request=_Request(shopper), other=other, r=reason).split("|")[:2]
    assert first == _why_by_jinja(shopper, reason)
    assert second == _why_by_jinja(other, reason)
