"""Segments: broad interest groups built from signals, and purposes that give the app only
those groups (``granularity = "segment"``), never the values themselves."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from consent_middleware import (
    ConfigurationError,
    ConsentError,
    ConsentPolicy,
    ConsentRequired,
    Purpose,
    Segment,
    Signal,
)
from consent_middleware.core.codec import ConsentState
from consent_middleware.core.context import PersonalisationContext
from consent_middleware.ui.pages import Pages
from consent_middleware.web.engine import ConsentEngine

from .conftest import KEY
from .test_jinja import render

EXAMPLE = ConsentPolicy.from_toml(Path(__file__).parent.parent / "examples" / "policy.toml")
TEAS = ["sencha", "assam", "earl-grey"]


def policy(granularity: str = "segment", minimum: int = 2) -> ConsentPolicy:
    """The example policy, its personalisation purposes at ``granularity``."""
    purposes = [
        replace(p, granularity=granularity)
        if p.id in ("session_personalisation", "personalisation")
        else p
        for p in EXAMPLE.purposes
    ]
    segments = [replace(EXAMPLE.segment("tea_lover"), minimum=minimum)]
    return ConsentPolicy(purposes, version="1", signals=EXAMPLE.signals, segments=segments)


def shopper(
    chosen: ConsentPolicy, *granted: str, header: str = "", viewed: tuple[str, ...] = ()
) -> PersonalisationContext:
    engine = ConsentEngine(policy=chosen, secret_keys=[KEY], secure=False)
    state = ConsentState("g" * 22, chosen.grant(granted), 0)
    ctx = PersonalisationContext(chosen, state, False, engine, header, "/consent", "/")
    for product in viewed:
        ctx.visit.add("viewed_products", product)
    return ctx


def test_a_segment_applies_once_enough_of_its_values_are_held() -> None:
    coarse = policy()
    assert [s.id for s in shopper(coarse, "personalisation", viewed=("sencha",)).segments()] == []
    two = shopper(coarse, "personalisation", viewed=("sencha", "mug", "assam"))
    assert [s.id for s in two.segments()] == ["tea_lover"]
    assert two.personal  # built with the shopper's data: never in a shared cache
    # Values of several signals count together.
    both = shopper(coarse, "personalisation", viewed=("sencha",))
    both.preferences.set("favourite_categories", ["Tea"])
    assert [s.id for s in both.segments()] == ["tea_lover"]
    # Only what this request may use counts: guest mode reads no stated preferences.
    guest = shopper(coarse, "session_personalisation", viewed=("sencha",))
    assert guest.segments() == ()
    assert shopper(coarse, viewed=()).segments() == ()


def test_a_switched_off_signal_counts_for_no_segment() -> None:
    coarse = policy()
    engine = ConsentEngine(policy=coarse, secret_keys=[KEY], secure=False)
    stopped = engine.stops.encode(["viewed_products"], "g" * 22)
    ctx = shopper(coarse, "personalisation", header=f"consent_signals={stopped}")
    assert ctx.segments() == ()
    assert [s.id for s in ctx.reason("tea_lover").signals] == ["favourite_categories"]
    both = engine.stops.encode(["viewed_products", "favourite_categories"], "g" * 22)
    ctx = shopper(coarse, "personalisation", header=f"consent_signals={both}")
    with pytest.raises(ConsentRequired):
        ctx.reason("tea_lover")


def test_segment_granularity_gives_the_app_segments_only() -> None:
    ctx = shopper(policy(), "personalisation", viewed=tuple(TEAS))
    assert ctx.may_use("viewed_products") and not ctx.may_read("viewed_products")
    with pytest.raises(ConsentError, match="gives only segments"):
        ctx.visit.get("viewed_products")
    with pytest.raises(ConsentError, match="name the segment that chose the item"):
        ctx.reason("viewed_products")
    reason = ctx.reason("tea_lover")
    assert (reason.kind, reason.text) == ("segment", "Because you seem to like tea.")
    assert [s.id for s in reason.signals] == ["viewed_products", "favourite_categories"]
    assert ctx.visit.export() == {"viewed_products": list(reversed(TEAS))}  # the shopper's own
    fine = shopper(policy("signal"), "personalisation", viewed=("sencha",))
    assert fine.may_read("viewed_products") and fine.visit.get("viewed_products") == ["sencha"]


def test_the_disclosure_names_the_interest_and_no_item() -> None:
    ctx = shopper(policy(), "personalisation", viewed=tuple(TEAS))
    html = render("{{ why(r) }}", consent=ctx, r=ctx.reason("tea_lover"))
    assert "<p>Because you seem to like tea.</p>" in html
    assert (
        "Only your broad interest in tea was used, never the single items you looked at."
    ) in html
    assert not any(tea in html for tea in TEAS)
    assert 'name="action" value="stop"' in html and 'value="forget"' not in html
    ctx.language = "en"
    german = shopper(policy(), "personalisation", viewed=tuple(TEAS))
    german._language = "de"  # as Accept-Language would choose, with a German catalogue shown
    html = render("{{ why(r) }}", consent=german, r=german.reason("tea_lover"))
    assert "<p>Weil Sie tea zu mögen scheinen.</p>" in html


def test_a_segments_texts_and_a_weight_reason_given_per_language_follow_the_shopper() -> None:
    tea = replace(
        EXAMPLE.segment("tea_lover"),
        label={"en": "tea", "de": "Tee"},
        description={"en": "Teas.", "de": "Tees."},
    )
    viewed = replace(
        EXAMPLE.signal("viewed_products"),
        weight_reason={"en": "It is recent.", "de": "Es ist neu."},
    )
    signals = [viewed if s.id == viewed.id else s for s in EXAMPLE.signals]
    chosen = ConsentPolicy(policy().purposes, version="1", signals=signals, segments=[tea])
    german = shopper(chosen, "personalisation", viewed=tuple(TEAS))
    german._language = "de"
    reason = german.reason("tea_lover")
    assert reason.text == "Because you seem to like tea."  # kept in English, shown translated
    html = render("{{ why(r) }}", consent=german, r=reason)
    assert "<p>Weil Sie Tee zu mögen scheinen.</p>" in html
    assert "tea" not in html.replace("Tee", "")
    page = Pages().render("consent/why_page.html", "de", ctx=german, consent=german)
    assert "<strong>Tee</strong>" in page and "Tees." in page and "Es ist neu." in page
    assert "It is recent." not in page and "Teas." not in page
    english = shopper(chosen, "personalisation", viewed=tuple(TEAS))
    html = render("{{ why(r) }}", consent=english, r=english.reason("tea_lover"))
    assert "<p>Because you seem to like tea.</p>" in html


def test_the_why_page_lists_the_interests_and_the_purposes_that_use_only_them() -> None:
    ctx = shopper(policy(), "personalisation")
    page = Pages().render("consent/why_page.html", ctx=ctx, consent=ctx)
    assert "<h2>Interests instead of single items</h2>" in page
    assert (
        "<li><strong>tea</strong>: from Products you viewed in this visit, Categories you told "
        "us you like, once at least 2 items fit. Teas you viewed, or tea among the categories "
        "you like.</li>"
    ) in page
    assert "Under Tailor this visit, Remember my preferences, suggestions use only" in page
    signal_only = shopper(policy("signal"), "personalisation")
    page = Pages().render("consent/why_page.html", ctx=signal_only, consent=signal_only)
    assert "Interests instead of single items" in page and "suggestions use only" not in page


def test_stated_preferences_stay_visible_to_the_shopper_under_segments() -> None:
    ctx = shopper(policy(), "personalisation")
    ctx.preferences.set("favourite_categories", ["Tea"])
    centre = render("{{ preference_centre() }}", consent=ctx)
    assert 'name="favourite_categories" value="Tea" id="pref-favourite_categories-1" checked' in (
        centre
    )


def _policy(**segment: Any) -> ConsentPolicy:
    values = {"id": "tea", "label": "tea", "signals": ("a",), "values": ("x", "y"), **segment}
    return ConsentPolicy(
        [
            Purpose("necessary", "N", required=True),
            Purpose("p", "P"),
            Purpose("h", "H", sensitive=True),
        ],
        version="1",
        signals=[Signal("a", "A", "p"), Signal("s", "S", "h", sensitive=True)],
        segments=[Segment(**values)],
    )


@pytest.mark.parametrize(
    ("build", "message"),
    [
        pytest.param(
            lambda: _policy(signals=("a", "zz")), "unknown signal\\(s\\) 'zz'", id="unknown"
        ),
        pytest.param(lambda: _policy(id="a"), "has the id of a signal", id="id-clash"),
        pytest.param(lambda: _policy(signals=("a", "s")), "mixes sensitive", id="mixed"),
        pytest.param(lambda: _policy(minimum=3), "more than its 2 values", id="minimum-high"),
        pytest.param(lambda: _policy(minimum=0), "1 or more", id="minimum-zero"),
        pytest.param(lambda: _policy(minimum=True), "1 or more", id="minimum-bool"),
        pytest.param(lambda: _policy(signals=()), "needs the signals", id="no-signals"),
        pytest.param(lambda: _policy(values=()), "needs the values", id="no-values"),
        pytest.param(lambda: _policy(values="xy"), "must be a list", id="values-string"),
        pytest.param(lambda: Purpose("p", "P", granularity="value"), "granularity must be"),
    ],
)
def test_mistakes_in_segments_fail_at_construction(build: Any, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        build()


def test_segments_are_read_from_toml_and_checked_there(tmp_path: Path) -> None:
    assert EXAMPLE.segment("tea_lover").minimum == 2
    assert EXAMPLE.purpose("personalisation").granularity == "signal"
    path = tmp_path / "policy.toml"
    path.write_text(
        'version = "1"\n[[purposes]]\nid = "p"\nlabel = "P"\ngranularity = "segment"\n'
        '[[signals]]\nid = "a"\nlabel = "A"\npurpose = "p"\n'
        '[[segments]]\nid = "tea"\nlabel = "tea"\nsignals = ["a", "b"]\nvalues = ["x", "y"]\n'
        '[[segments]]\nid = "pots"\nlabel = "pots"\n'
    )
    with pytest.raises(ConfigurationError) as error:
        ConsentPolicy.from_toml(path)
    assert "segment 'tea' is built from unknown signal(s) 'b'" in str(error.value)
    assert "segments[1] needs an id, a label, signals and values" in str(error.value)
