"""Reasons are handed out only for what the shopper allowed: every purpose, scope and
sensitivity combination of the example policy, against an independent statement of the rule."""

from __future__ import annotations

import itertools
from datetime import timedelta
from pathlib import Path

import pytest

from consent_middleware import (
    ConsentError,
    ConsentPolicy,
    ConsentRequired,
    Mode,
    PersonalisationContext,
    Signal,
    SignalScope,
)
from consent_middleware.core.codec import ConsentState
from consent_middleware.core.reasons import GENERAL_REASON, Reason, retention_text

POLICY = ConsentPolicy.from_toml(Path(__file__).parent.parent / "examples" / "policy.toml")
OPTIONAL = [p.id for p in POLICY.optional]
COMBINATIONS = [
    frozenset(chosen)
    for size in range(len(OPTIONAL) + 1)
    for chosen in itertools.combinations(OPTIONAL, size)
]


def context(chosen: frozenset[str], gpc: bool = False) -> PersonalisationContext:
    state = ConsentState("r" * 22, POLICY.grant(chosen), 0)
    return PersonalisationContext(POLICY, state, gpc)


def expected_allowed(signal: Signal, chosen: frozenset[str], gpc: bool) -> bool:
    granted = set(chosen) | {"necessary"}
    if "personalisation" in granted:
        granted.add("session_personalisation")
    if gpc:
        granted.discard("marketing")
    if signal.purpose not in granted:
        return False
    if "personalisation" in granted:
        return True
    return "session_personalisation" in granted and signal.scope is SignalScope.SESSION


@pytest.mark.parametrize("gpc", [False, True], ids=["no-gpc", "gpc"])
@pytest.mark.parametrize("signal", POLICY.signals, ids=lambda s: s.id)
def test_reason_refused_unless_allowed(signal: Signal, gpc: bool) -> None:
    refused = allowed = 0
    for chosen in COMBINATIONS:
        ctx = context(chosen, gpc)
        if expected_allowed(signal, chosen, gpc):
            reason = ctx.reason(signal.id, text="Because ...")
            assert reason.signals == (signal,)
            assert reason.personal
            assert ctx.used_signals == (signal,)
            assert ctx.may_use(signal.id)
            allowed += 1
        else:
            with pytest.raises(ConsentRequired) as info:
                ctx.reason(signal.id)
            assert info.value.purpose in POLICY
            assert ctx.used_signals == ()
            assert not ctx.may_use(signal.id)
            refused += 1
    assert refused and allowed


def test_sensitive_signal_needs_its_own_purpose_even_when_all_else_is_granted() -> None:
    everything_but = frozenset(POLICY.accept_all_ids)
    assert "health_personalisation" not in everything_but
    ctx = context(everything_but)
    assert ctx.mode is Mode.PERSONALISED
    with pytest.raises(ConsentRequired) as info:
        ctx.reason("health_interest")
    assert info.value.purpose == "health_personalisation"
    assert context(everything_but | {"health_personalisation"}).may_use("health_interest")


def test_refusal_names_the_purpose_to_grant() -> None:
    guest = context(frozenset({"session_personalisation"}))
    with pytest.raises(ConsentRequired, match="has not granted") as info:
        guest.reason("favourite_categories")
    assert info.value.purpose == "personalisation"
    interests = Signal(
        "ad_interests",
        "Ad interests",
        "marketing",
        scope=SignalScope.PERSISTENT,
        retention=timedelta(30),
    )
    policy = ConsentPolicy.default(signals=[interests])
    state = ConsentState("r" * 22, policy.grant(["session_personalisation", "marketing"]), 0)
    with pytest.raises(ConsentRequired, match="for this visit only") as info:
        PersonalisationContext(policy, state).reason("ad_interests")
    assert info.value.purpose == "personalisation"
    undecided = PersonalisationContext(POLICY)
    with pytest.raises(ConsentRequired) as info:
        undecided.reason("viewed_products")
    assert info.value.purpose == "session_personalisation"


def test_reason_text_and_retention() -> None:
    ctx = context(frozenset({"personalisation"}))
    reason = ctx.reason("viewed_products", "favourite_categories")
    assert reason.text == (
        "Suggested from products you viewed in this visit, categories you told us you like."
    )
    assert [p.id for p in reason.purposes] == ["session_personalisation", "personalisation"]
    assert reason.retention == (
        "Products you viewed in this visit: kept for this visit only; "
        "Categories you told us you like: kept for 365 days"
    )
    assert [s.id for s in ctx.used_signals] == ["viewed_products", "favourite_categories"]


def test_general_reason_uses_nothing() -> None:
    ctx = PersonalisationContext(POLICY)
    reason = ctx.general_reason()
    assert reason == Reason.general()
    assert reason.text == GENERAL_REASON
    assert not reason.personal
    assert reason.retention == ""
    assert ctx.used_signals == ()
    assert ctx.general_reason("Goes with the tea you are looking at.").text.startswith("Goes")


@pytest.mark.parametrize(
    ("retention", "text"),
    [
        (timedelta(days=1), "kept for 1 day"),
        (timedelta(days=30), "kept for 30 days"),
        (timedelta(hours=5), "kept for 5 hours"),
        (timedelta(minutes=5), "kept for 1 hour"),
    ],
)
def test_retention_text(retention: timedelta, text: str) -> None:
    signal = Signal("s", "S", "personalisation", scope=SignalScope.PERSISTENT, retention=retention)
    assert retention_text(signal) == text


def test_unknown_signal_and_empty_reason_are_programming_errors() -> None:
    ctx = context(frozenset(OPTIONAL))
    with pytest.raises(ConsentError, match="unknown signal 'viewed'"):
        ctx.reason("viewed")
    with pytest.raises(ConsentError, match="use general_reason"):
        ctx.reason()
    with pytest.raises(ConsentError, match="unknown signal"):
        ctx.may_use("nope")


def test_reading_consent_makes_the_response_vary() -> None:
    ctx = PersonalisationContext(POLICY)
    assert not ctx.varies
    assert ctx.mode is Mode.NON_PERSONALISED
    assert ctx.varies
    assert not ctx.must_write
