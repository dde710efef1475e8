"""Sponsored placements: who paid, and on which of the shopper's data, if any, they were
targeted; targeting only with ``marketing``."""

from __future__ import annotations

import pytest

from consent_middleware import ConsentError, ConsentPolicy, ConsentRequired, Purpose, Signal
from consent_middleware.core.codec import ConsentState
from consent_middleware.core.context import PersonalisationContext
from consent_middleware.web.engine import ConsentEngine

from .conftest import KEY
from .test_jinja import HOSTILE, POLICY, assert_escaped, context, render


def test_an_untargeted_placement_says_who_paid_and_that_no_data_was_used() -> None:
    ctx = context("analytics")
    reason = ctx.sponsored_reason(sponsor="Kettle & Co.")
    assert (reason.kind, reason.personal, reason.sponsor) == ("sponsored", False, "Kettle & Co.")
    assert ctx.personal is False  # nothing of the shopper's: a page cache may keep it
    html = render("{{ why(r) }}", consent=ctx, r=reason)
    assert "<p><strong>Sponsored by Kettle &amp; Co.</strong></p>" in html
    assert "<p>This is a paid placement.</p>" in html
    assert "It was not targeted at you: none of your data was used." in html
    assert "csrf_token" not in html and "/consent/signals" not in html


def test_a_targeted_placement_names_the_data_and_the_marketing_choice() -> None:
    ctx = context("session_personalisation", "marketing")
    reason = ctx.sponsored_reason("viewed_products", sponsor="Kettle Co", text="For your tea")
    assert reason.kind == "sponsored" and reason.personal
    assert [p.id for p in reason.purposes] == ["session_personalisation", "marketing"]
    assert [s.id for s in ctx.used_signals] == ["viewed_products"]
    html = render("{{ why(r) }}", consent=ctx, r=reason)
    assert "<strong>Sponsored by Kettle Co</strong>" in html
    assert "<p>For your tea</p>" in html
    assert "Products you viewed in this visit, under your choice" in html
    assert (
        "Targeted at you under your choice &ldquo;Personalised offers and advertising&rdquo;."
    ) in html
    assert 'name="action" value="stop"' in html
    assert "none of your data was used" not in html


@pytest.mark.parametrize(
    ("granted", "gpc", "purpose"),
    [
        pytest.param(("session_personalisation",), False, "marketing", id="no-marketing"),
        pytest.param(("marketing", "session_personalisation"), True, "marketing", id="gpc"),
        pytest.param(("marketing",), False, "session_personalisation", id="no-signal-consent"),
    ],
)
def test_targeting_needs_marketing_and_the_signals_own_consent(
    granted: tuple[str, ...], gpc: bool, purpose: str
) -> None:
    engine = ConsentEngine(policy=POLICY, secret_keys=[KEY], secure=False)
    state = ConsentState("s" * 22, POLICY.grant(granted), 0)
    ctx = PersonalisationContext(POLICY, state, gpc, engine, "", "/consent", "/")
    with pytest.raises(ConsentRequired) as refused:
        ctx.sponsored_reason("viewed_products", sponsor="Kettle Co")
    assert refused.value.purpose == purpose
    assert ctx.sponsored_reason(sponsor="Kettle Co").personal is False  # untargeted is fine


def test_mistakes_are_programming_errors() -> None:
    ctx = context("marketing")
    for sponsor in ("", "   ", None):
        with pytest.raises(ConsentError, match="needs the name of who paid"):
            ctx.sponsored_reason(sponsor=sponsor)
    with pytest.raises(ConsentError, match="unknown signal 'nope'"):
        ctx.sponsored_reason("nope", sponsor="Kettle Co")
    no_marketing = ConsentPolicy(
        [
            Purpose("necessary", "Necessary", required=True),
            Purpose("session_personalisation", "This visit"),
        ],
        version="1",
        signals=[Signal("viewed", "Viewed", "session_personalisation")],
    )
    bare = context("session_personalisation", policy=no_marketing)
    with pytest.raises(ConsentError, match="needs a 'marketing' purpose"):
        bare.sponsored_reason("viewed", sponsor="Kettle Co")


def test_a_hostile_sponsor_is_escaped() -> None:
    ctx = context("marketing", "session_personalisation")
    for reason in (
        ctx.sponsored_reason(sponsor=HOSTILE),
        ctx.sponsored_reason("viewed_products", sponsor=HOSTILE, text=HOSTILE),
    ):
        assert_escaped(render("{{ why(r) }}", consent=ctx, r=reason))
