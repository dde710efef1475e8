"""``{% load consent %}``: the same markup as the Jinja2 helpers, escaped, gated on the
server; mistakes in a template are TemplateSyntaxErrors naming the tag."""

from __future__ import annotations

import json
import re
from typing import Any

import jinja2
import pytest
from django.template import Context, Template, TemplateSyntaxError
from django.test import Client, override_settings

from consent_middleware import ConsentError, MiddlewareNotInstalled, PersonalisationContext
from consent_middleware.jinja import install
from consent_middleware.web.engine import ConsentEngine

from .conftest import KEY, make_cookie
from .django_project import setup
from .test_jinja import HOSTILE, POLICY, assert_escaped, context, hostile_policy

setup()

LOAD = "{% load consent %}"


def django(source: str, **values: Any) -> str:
    """``source`` rendered by Django's template engine, after ``{% load consent %}``."""
    return Template(LOAD + source).render(Context(values))


def jinja(source: str, **values: Any) -> str:
    return install(jinja2.Environment(autoescape=True)).from_string(source).render(**values)


# -- {% consent %} ------------------------------------------------------------------------


@pytest.mark.parametrize(("granted", "shown"), [(("analytics",), "A"), ((), "B")])
def test_consent_tag_gates_on_the_server(granted: tuple[str, ...], shown: str) -> None:
    source = '{% consent "analytics" %}A{% else %}B{% endconsent %}'
    assert django(source, consent=context(*granted)) == shown


def test_consent_tag_without_else_and_with_a_variable() -> None:
    source = '[{% consent purpose %}<script src="/pixel.js"></script>{% endconsent %}]'
    assert django(source, consent=context("analytics"), purpose="marketing") == "[]"
    shown = django(source, consent=context("marketing"), purpose="marketing")
    assert shown == '[<script src="/pixel.js"></script>]'


def test_consent_tag_body_is_a_template() -> None:
    source = '{% consent "analytics" %}{{ name }}{% else %}{{ name|upper }}{% endconsent %}'
    assert django(source, consent=context("analytics"), name="<b>") == "&lt;b&gt;"
    assert django(source, consent=context(), name="<b>") == "&lt;B&gt;"


def test_consent_tag_unknown_purpose_is_a_programming_error() -> None:
    with pytest.raises(ConsentError, match="unknown purpose 'analytic'"):
        django('{% consent "analytic" %}A{% endconsent %}', consent=context())


@pytest.mark.parametrize(
    ("source", "message"),
    [
        pytest.param("{% consent %}A{% endconsent %}", "'consent' takes one purpose id", id="none"),
        pytest.param(
            '{% consent "a" "b" %}A{% endconsent %}', "'consent' takes one purpose id", id="two"
        ),
        pytest.param('{% consent "analytics" %}A', "Unclosed tag", id="unclosed"),
        pytest.param(
            '{% consent "analytics" %}A{% else x %}B{% endconsent %}',
            "'else x' in {% consent %}",
            id="else-with-arguments",
        ),
        pytest.param(
            '{% consent "analytics" %}A{% else %}B{% else %}C{% endconsent %}',
            "'else', expected 'endconsent'",
            id="two-elses",
        ),
        pytest.param("{% why %}", "'why' did not receive value", id="why-without-item"),
        pytest.param("{% why a b %}", "'why' received too many", id="why-two-items"),
        pytest.param("{% consent_banner x %}", "'consent_banner' received too many", id="banner"),
        pytest.param(
            "{% privacy_choices_link x %}", "'privacy_choices_link' received too many", id="link"
        ),
        pytest.param(
            "{% consent_state_json x %}", "'consent_state_json' received too many", id="state"
        ),
        pytest.param(
            "{% preference_centre a b %}", "'preference_centre' received too many", id="centre"
        ),
    ],
)
def test_bad_usage_is_a_template_syntax_error(source: str, message: str) -> None:
    with pytest.raises(TemplateSyntaxError, match=re.escape(message)):
        Template(LOAD + source)


def test_tags_without_a_context_say_what_to_do() -> None:
    with pytest.raises(MiddlewareNotInstalled, match="add 'consent_middleware.django"):
        django("{% consent_banner %}")
    with pytest.raises(MiddlewareNotInstalled):
        django('{% consent "analytics" %}A{% endconsent %}', request=object())


# -- the same markup as the Jinja2 helpers ------------------------------------------------


def items(ctx: PersonalisationContext) -> dict[str, Any]:
    personal = ctx.reason("favourite_categories", text="Because you like Tea")
    return {"personal": {"name": "Tea", "reason": personal}, "general": ctx.general_reason()}


@pytest.mark.parametrize(
    ("tag", "helper"),
    [
        pytest.param("{% why personal %}", "{{ why(personal) }}", id="why-personal"),
        pytest.param("{% why general %}", "{{ why(general) }}", id="why-general"),
        pytest.param("{% consent_banner %}", "{{ consent_banner() }}", id="banner"),
        pytest.param("{% preference_centre %}", "{{ preference_centre() }}", id="centre"),
        pytest.param(
            '{% preference_centre "/basket" %}',
            '{{ preference_centre("/basket") }}',
            id="centre-next",
        ),
        pytest.param("{% privacy_choices_link %}", "{{ privacy_choices_link() }}", id="link"),
        pytest.param("{% consent_state_json %}", "{{ consent_state_json() }}", id="state"),
        pytest.param("{% personalisation_switch %}", "{{ personalisation_switch() }}", id="switch"),
        pytest.param(
            '{% personalisation_switch "/basket" %}',
            '{{ personalisation_switch("/basket") }}',
            id="switch-next",
        ),
    ],
)
@pytest.mark.parametrize("decided", [True, False], ids=["decided", "undecided"])
def test_each_tag_prints_what_its_jinja_helper_prints(tag: str, helper: str, decided: bool) -> None:
    ctx = context("personalisation", decided=True)
    values = items(ctx)
    if not decided:
        ctx = context(decided=False)
    html = django(tag, consent=ctx, **values)
    assert html == jinja(helper, consent=ctx, **values)
    # The banner only until a choice is made; the switch only once one allows personalising.
    if ("banner" not in tag or not decided) and ("switch" not in tag or decided):
        assert html


def test_the_banner_is_shown_until_a_choice_is_made() -> None:
    html = django("{% consent_banner %}", consent=context(decided=False))
    assert 'class="consent-banner"' in html
    assert '<input type="hidden" name="next" value="/products/tea">' in html
    assert django("{% consent_banner %}", consent=context("analytics")) == ""


def test_preference_centre_sends_the_shopper_back_to_next() -> None:
    html = django('{% preference_centre "/basket?x=1" %}', consent=context("analytics"))
    assert '<input type="hidden" name="next" value="/basket?x=1">' in html
    outside = django('{% preference_centre "https://evil.test/" %}', consent=context())
    assert "evil.test" not in outside


def test_state_json_is_script_safe() -> None:
    ctx = context("analytics")
    text = django("<script>const s = {% consent_state_json %};</script>", consent=ctx)
    data = json.loads(text.removeprefix("<script>const s = ").removesuffix(";</script>"))
    assert data["purposes"]["analytics"] is True
    assert "j" * 22 not in text  # no consent id


# -- escaping -----------------------------------------------------------------------------


def test_hostile_text_is_escaped_everywhere() -> None:
    ctx = context("personalisation", policy=hostile_policy())
    reason = ctx.reason("viewed", "liked", text=HOSTILE)
    source = "{% why reason %}{% preference_centre %}{% privacy_choices_link %}{% consent_banner %}"
    assert_escaped(django(source, consent=ctx, reason=reason))
    undecided = context(policy=hostile_policy(), decided=False)
    assert_escaped(django("{% consent_banner %}", consent=undecided))


def test_hostile_next_and_path_stay_inside_attributes() -> None:
    ctx = context()
    ctx.path = '/x"><script>alert(1)</script>'
    html = django(
        "{% privacy_choices_link %}{% why r %}{% preference_centre evil %}",
        consent=ctx,
        r=ctx.general_reason(),
        evil='/y"><script>alert(2)</script>',
    )
    assert "<script>" not in html
    assert 'href="/consent?next=%2Fx%22%3E%3Cscript%3Ealert%281%29%3C%2Fscript%3E"' in html


def test_state_json_escapes_markup_in_the_policy_version() -> None:
    from consent_middleware import ConsentPolicy

    version = "</script><script>alert(1)</script><!-- & -->"
    policy = ConsentPolicy(POLICY.purposes, version=version, signals=POLICY.signals)
    text = django("{% consent_state_json %}", consent=context("analytics", policy=policy))
    assert not {"<", ">", "&"} & set(text), text
    assert json.loads(text)["policy_version"] == version


# -- through Django's test client ---------------------------------------------------------


def test_the_tags_find_request_consent_on_a_rendered_page() -> None:
    client = Client(headers={"Host": "shop.test"})
    first = client.get("/page/tags")
    text = first.content.decode()
    assert 'class="consent-banner"' in text
    assert "[no analytics]" in text
    assert '<a class="consent-link" href="/consent?next=%2Fpage%2Ftags">' in text
    # The banner's form token set its cookie; the page is private and varies.
    assert "consent_csrf" in "".join(first.cookies)
    assert first["Cache-Control"] == "private"
    assert first["Vary"] == "Cookie"


def test_a_granted_purpose_shows_its_markup_on_a_rendered_page() -> None:
    import time

    cookie = make_cookie(("analytics",), decided_at=int(time.time()))
    with override_settings(CONSENT_MIDDLEWARE={"secret_keys": [KEY], "secure": False}):
        page = Client().get("/page/tags", headers={"Cookie": f"consent={cookie}"})
    text = page.content.decode()
    assert '[<script src="/analytics.js"></script>]' in text
    assert 'class="consent-banner"' not in text
    assert json.loads(re.search(r"const state = (.*);</script>", text).group(1))["decided"]  # type: ignore[union-attr]


def test_the_tags_print_in_the_language_the_shopper_accepts() -> None:
    settings = {"secret_keys": [KEY], "secure": False, "languages": ["en", "de"]}
    with override_settings(CONSENT_MIDDLEWARE=settings):
        page = Client().get("/page/tags", headers={"Accept-Language": "de-AT, en;q=0.5"})
    text = page.content.decode()
    assert ">Alle akzeptieren</button>" in text
    assert ">Datenschutzeinstellungen</a>" in text


def test_the_tags_follow_djangos_locale_middleware_when_installed() -> None:
    settings = {"secret_keys": [KEY], "secure": False, "languages": ["en", "de", "fr"]}
    with override_settings(
        CONSENT_MIDDLEWARE=settings,
        MIDDLEWARE=[
            "django.middleware.locale.LocaleMiddleware",
            "consent_middleware.django.ConsentMiddleware",
        ],
        LANGUAGES=[("en", "English"), ("fr", "French")],
    ):
        # Django's language cookie says French; the header alone would choose German.
        page = Client().get(
            "/page/tags", headers={"Accept-Language": "de", "Cookie": "django_language=fr"}
        )
    assert ">Tout accepter</button>" in page.content.decode()


def test_the_tags_print_the_policys_texts_in_the_shown_language() -> None:
    from .test_texts import SHOP_POLICY

    settings = {
        "secret_keys": [KEY],
        "secure": False,
        "languages": ["en", "de"],
        "policy": SHOP_POLICY,
    }
    with override_settings(CONSENT_MIDDLEWARE=settings):
        german = Client().get("/page/tags", headers={"Accept-Language": "de"}).content.decode()
        english = Client().get("/page/tags", headers={"Accept-Language": "en"}).content.decode()
    assert "Diesen Besuch anpassen; Besuche zählen." in german
    assert "Tailor this visit" not in german
    assert "Tailor this visit; Count visits." in english
    # The preference centre tag, for a context the host put in German.
    engine = ConsentEngine(policy=SHOP_POLICY, secret_keys=[KEY], languages=["en", "de"])
    ctx = PersonalisationContext(SHOP_POLICY, None, False, engine, "", "/consent", "/")
    ctx.language = "de"
    centre = django("{% preference_centre %}", consent=ctx)
    assert "Aus dem, was Sie ansehen." in centre
    assert "Angesehene Produkte" in centre
