"""The shopper's controls speak every shipped language: the disclosures with their forms,
sponsored placements, the switch, what was switched off and the explanation page."""

from __future__ import annotations

import jinja2
import pytest

from consent_middleware.core.codec import ConsentState
from consent_middleware.core.context import PersonalisationContext
from consent_middleware.jinja import install
from consent_middleware.ui.pages import Pages
from consent_middleware.web.engine import ConsentEngine

from .conftest import KEY
from .test_languages import POLICY, TRANSLATED, assert_no_english

PAGE = install(jinja2.Environment(autoescape=True)).from_string(
    '<html lang="{{ consent.language }}"><body>{{ personalisation_switch() }}'
    "{% for r in reasons %}{{ why(r) }}{% endfor %}{{ preference_centre() }}</body></html>"
)


def shopper(language: str, *, paused: bool = False) -> PersonalisationContext:
    engine = ConsentEngine(
        policy=POLICY, secret_keys=[KEY], secure=False, languages=["en", *TRANSLATED]
    )
    state = ConsentState("l" * 22, POLICY.grant(["personalisation", "marketing"]), 0)
    stopped = engine.stops.encode(["favourite_categories"], state.consent_id)
    header = f"consent_signals={stopped}" + ("; consent_pause=1" if paused else "")
    ctx = PersonalisationContext(POLICY, state, False, engine, header, "/consent", "/tea")
    ctx.language = language
    return ctx


@pytest.mark.parametrize("language", TRANSLATED)
def test_the_controls_show_no_english(language: str) -> None:
    ctx = shopper(language)
    reasons = [
        ctx.reason("viewed_products", text="x", value="mug"),
        ctx.sponsored_reason(sponsor="Kettle Co", text="x"),
        ctx.sponsored_reason("viewed_products", sponsor="Kettle Co", text="x"),
        ctx.sponsored_reason(sponsor="Kettle Co"),
        ctx.general_reason(),
    ]
    page = PAGE.render(consent=ctx, reasons=reasons)
    assert 'value="forget"' in page and "consent-stopped" in page and "Kettle Co" in page
    assert_no_english(page, language)
    paused = shopper(language, paused=True)
    assert_no_english(PAGE.render(consent=paused, reasons=[]), language)
    why = Pages().render("consent/why_page.html", language, ctx=paused, consent=paused)
    assert_no_english(why, language)
