"""``audit``: its errors are the policy's own problems, its warnings and notes are advice."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from consent_middleware import ConfigurationError, ConsentOptions, ConsentPolicy
from consent_middleware.cli.audit import Finding, audit

NECESSARY = {"id": "necessary", "label": "Necessary", "description": "Always on.", "required": True}
ADS = {"id": "ads", "label": "Ads", "description": "Adverts.", "cookies": ["_ad"]}


def _policy(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "version": "1",
        "ledger_retention_days": 1000,
        "purposes": [NECESSARY, ADS],
        "signals": [],
    }
    data.update(changes)
    return data


def _signal(**fields: Any) -> dict[str, Any]:
    return {"id": "s", "label": "S", "purpose": "ads", "description": "S.", **fields}


def _errors(findings: list[Finding]) -> list[str]:
    return [f.message for f in findings if f.level == "error"]


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(_policy(signals=[_signal(purpose="nope")]), id="unknown-purpose"),
        pytest.param(_policy(signals=[_signal(purpose="necessary")]), id="required-purpose"),
        pytest.param(_policy(signals=[_signal(sensitive=True)]), id="sensitive-general"),
        pytest.param(_policy(signals=[_signal(scope="persistent")]), id="no-retention"),
        pytest.param(_policy(signals=[_signal(choices=["tea"])]), id="choices-in-session"),
        pytest.param(_policy(signals=[_signal(), _signal()]), id="duplicate-signal"),
        pytest.param(
            _policy(purposes=[NECESSARY, {**ADS, "implies": ["necessary", "zz"]}]),
            id="implies-unknown",
        ),
        pytest.param(
            _policy(purposes=[NECESSARY, {**ADS, "required": True, "gpc_opt_out": True}]),
            id="required-refusable",
        ),
        pytest.param(_policy(consent_lifetime_days=400), id="lifetime-too-long"),
        pytest.param(_policy(version=""), id="empty-version"),
        pytest.param({"purposes": [NECESSARY]}, id="no-version"),
        pytest.param(_policy(last_updated=datetime(2026, 1, 1)), id="time-not-date"),
        pytest.param(_policy(colour="red"), id="unknown-key"),
    ],
)
def test_audit_errors_are_the_problems_the_policy_raises(data: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError) as info:
        ConsentPolicy.from_mapping(data)
    policy, findings = audit(data)
    assert policy is None
    assert _errors(findings) == [str(info.value)]


BROKEN = _policy(
    consent_lifetime_days=400,
    purposes=[NECESSARY, ADS, {"id": "broken", "label": ""}],
    signals=[
        _signal(id="history", scope="persistent"),
        _signal(id="mood", purpose="necessary"),
        _signal(id="health", sensitive=True),
        _signal(id="later", purpose="broken"),
    ],
)


def test_every_problem_is_found_at_once_by_both() -> None:
    _, findings = audit(BROKEN)
    errors = _errors(findings)
    assert errors == [
        "purpose 'broken': label must be a non-empty string",
        "signal 'history' is kept across visits with no retention: say how long it is kept "
        "(retention, or retention_days in a policy file)",
        "policy consent_lifetime is 400 days: at most 395 days is allowed (browsers keep "
        "cookies 400 days at most)",
        "signal 'mood' uses required purpose 'necessary': personal signals need a purpose the "
        "visitor can refuse",
        "signal 'health' is sensitive but uses the general purpose 'ads': give it a purpose of "
        "its own, declared sensitive=True",
    ]
    with pytest.raises(ConfigurationError) as info:
        ConsentPolicy.from_mapping(BROKEN)
    assert str(info.value) == "; ".join(errors)


def test_a_signal_of_an_unreadable_purpose_is_not_also_unknown() -> None:
    _, findings = audit(BROKEN)
    assert not any("'later'" in message for message in _errors(findings))


def test_a_python_policy_raises_every_problem_at_once() -> None:
    policy = ConsentPolicy.from_mapping(_policy())
    with pytest.raises(ConfigurationError) as info:
        ConsentPolicy(policy.purposes * 2, version="")
    assert str(info.value) == (
        "policy version must be a non-empty string of 64 characters at most; "
        "policy declares purpose 'necessary' twice; policy declares purpose 'ads' twice"
    )


def test_advice_is_given_beside_the_errors_and_never_fails_the_audit() -> None:
    data = _policy(
        consent_lifetime_days=200,
        purposes=[NECESSARY, {"id": "marketing", "label": "Offers"}],
        signals=[_signal(purpose="marketing", scope="persistent", retention_days=400)],
    )
    data.pop("ledger_retention_days")
    policy, findings = audit(data)
    assert policy is not None
    assert [(f.level, f.message) for f in findings] == [
        ("warning", "signal 's' is kept more than 395 days: is all of it needed?"),
        ("warning", "purpose 'marketing' has no description for shoppers"),
        ("warning", "purpose 'marketing' is not switched off by Global Privacy Control"),
        ("note", "policy asks again after 200 days; a refusal is usually kept about six months"),
        ("note", "policy declares no ledger_retention_days: three years apply"),
    ]


def test_a_sound_policy_has_no_findings() -> None:
    policy, findings = audit(_policy(signals=[_signal()]))
    assert policy is not None and policy.signal("s").purpose == "ads"
    assert findings == []


def test_a_purpose_of_segments_that_no_segment_uses_is_warned_about() -> None:
    coarse = {**ADS, "granularity": "segment"}
    segment = {"id": "tea", "label": "tea", "signals": ["s"], "values": ["x"], "minimum": 1}
    unused = _policy(purposes=[NECESSARY, coarse], signals=[_signal()])
    warnings = [f.message for f in audit(unused)[1] if f.level == "warning"]
    assert warnings == [
        "purpose 'ads' gives only segments (granularity = \"segment\") but no segment is built "
        "from its signals: the app can use none of them"
    ]
    used = _policy(purposes=[NECESSARY, coarse], signals=[_signal()], segments=[segment])
    assert [f for f in audit(used)[1] if f.level != "note"] == []


# -- texts per language -------------------------------------------------------------------------

GERMAN_ADS = {**ADS, "label": {"en": "Ads", "de": "Werbung"}, "description": "Adverts."}
TEXTS = _policy(
    purposes=[{**NECESSARY, "label": {"en": "Necessary", "de": "Notwendig"}}, GERMAN_ADS],
    signals=[_signal(label={"de": "S auf Deutsch"})],
)


def _warnings(findings: list[Finding]) -> list[str]:
    return [f.message for f in findings if f.level == "warning"]


def test_audit_lists_each_text_a_language_of_the_policy_lacks() -> None:
    policy, findings = audit(TEXTS)
    assert policy is not None
    assert _errors(findings) == []
    # The policy gives texts in English and German: each is checked, English first.
    assert _warnings(findings) == [
        "no text in 'en' for signal 's' label: shoppers who read 'en' are shown these in "
        "another language",
        "no text in 'de' for purpose 'necessary' description (one text for every language), "
        "purpose 'ads' description (one text for every language), signal 's' description "
        "(one text for every language): shoppers who read 'de' are shown these in another "
        "language",
    ]


def test_audit_checks_the_shops_languages_when_given() -> None:
    _, findings = audit(TEXTS, languages=["en", "fr"])
    # Without an English text the middleware would refuse to start: an error, in its words.
    with pytest.raises(ConfigurationError) as info:
        ConsentOptions(
            secret_keys=["k" * 40], policy=ConsentPolicy.from_mapping(TEXTS), languages=["en"]
        )
    assert _errors(findings) == [str(info.value)]
    assert "signal 's' label" in str(info.value)
    (french,) = _warnings(findings)
    assert french.startswith(
        "no text in 'fr' for purpose 'necessary' label, purpose 'necessary' description (one "
        "text for every language), purpose 'ads' label, "
    )


def test_a_policy_in_one_language_has_nothing_to_report() -> None:
    _, findings = audit(_policy())
    assert not [f for f in findings if "no text in" in f.message]
    _, findings = audit(_policy(), languages=["en"])
    assert not [f for f in findings if "no text in" in f.message]
    _, findings = audit(_policy(), languages=["en", "de"])
    assert _warnings(findings)[0].startswith(
        "no text in 'de' for purpose 'necessary' label (one text for every language), "
    )
