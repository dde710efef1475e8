from __future__ import annotations

import dataclasses
import string
import time
from collections.abc import Callable

import pytest

from consent_middleware import ConfigurationError, ConsentPolicy, Purpose
from consent_middleware.core.codec import (
    MAX_VALUE_BYTES,
    ConsentCookieCodec,
    ConsentState,
    CookieProblem,
    new_consent_id,
)

from .conftest import KEY, OLD_KEY, make_cookie

NOW = 1_800_000_000
DAY = 86_400
POLICY = ConsentPolicy.default()


def codec(*keys: str, policy: ConsentPolicy = POLICY) -> ConsentCookieCodec:
    return ConsentCookieCodec(policy, list(keys) or [KEY])


def state(*granted: str, at: int = NOW) -> ConsentState:
    return ConsentState(new_consent_id(), POLICY.grant(granted), at)


def test_round_trip_keeps_every_field() -> None:
    original = state("personalisation", "analytics")
    decoded = codec().decode(codec().encode(original), NOW + 10)
    assert decoded == original
    assert isinstance(decoded, ConsentState)
    assert decoded.granted == {
        "necessary",
        "personalisation",
        "session_personalisation",
        "analytics",
    }


def test_value_is_compact_and_cookie_safe() -> None:
    value = codec().encode(state("personalisation", "analytics", "marketing"))
    # About 100 characters, and a tag of 8 for each optional purpose.
    assert len(value) <= 100 + 8 * len(POLICY.optional)
    assert set(value) <= set(string.ascii_letters + string.digits + "-_.")


def test_every_single_character_change_is_refused() -> None:
    value = codec().encode(state("analytics"))
    alphabet = string.ascii_letters + string.digits + "-_."
    for position, original in enumerate(value):
        for replacement in alphabet:
            if replacement == original:
                continue
            tampered = value[:position] + replacement + value[position + 1 :]
            result = codec().decode(tampered, NOW)
            assert isinstance(result, CookieProblem), (position, replacement)


def test_truncated_and_extended_values_are_refused() -> None:
    value = codec().encode(state("analytics"))
    for cut in range(len(value)):
        assert isinstance(codec().decode(value[:cut], NOW), CookieProblem)
    assert isinstance(codec().decode(value + "A", NOW), CookieProblem)
    assert isinstance(codec().decode(value + ".x", NOW), CookieProblem)


def test_wrong_key_is_refused() -> None:
    value = codec("w" * 40).encode(state("analytics"))
    assert codec().decode(value, NOW) is CookieProblem.BAD_SIGNATURE


def test_rotated_key_still_verifies_and_newest_signs() -> None:
    old_value = codec(OLD_KEY).encode(state("analytics"))
    rotated = codec(KEY, OLD_KEY)
    assert isinstance(rotated.decode(old_value, NOW), ConsentState)
    new_value = rotated.encode(state("analytics"))
    assert isinstance(codec(KEY).decode(new_value, NOW), ConsentState)
    assert codec(OLD_KEY).decode(new_value, NOW) is CookieProblem.BAD_SIGNATURE


@pytest.mark.parametrize(
    ("age", "expected"),
    [
        pytest.param(0, None, id="fresh"),
        pytest.param(180 * DAY, None, id="last-second"),
        pytest.param(180 * DAY + 1, CookieProblem.EXPIRED, id="expired"),
        pytest.param(-60, None, id="small-clock-skew"),
        pytest.param(-3600, CookieProblem.EXPIRED, id="from-the-future"),
    ],
)
def test_expiry(age: int, expected: CookieProblem | None) -> None:
    value = codec().encode(state("analytics", at=NOW - age))
    result = codec().decode(value, NOW)
    if expected is None:
        assert isinstance(result, ConsentState)
    else:
        assert result is expected


def test_other_policy_version_is_outdated() -> None:
    value = make_cookie(("analytics",), decided_at=NOW, policy=ConsentPolicy.default(version="0"))
    assert codec().decode(value, NOW) is CookieProblem.OUTDATED


def test_purposes_added_or_removed_under_the_same_version_keep_the_other_choices() -> None:
    extended = ConsentPolicy(
        [*POLICY.purposes, Purpose("surveys", "Surveys")], version=POLICY.version
    )
    value = codec(policy=extended).encode(
        ConsentState("a" * 22, extended.grant(["surveys", "analytics"]), NOW)
    )
    # The policy without "surveys" reads the rest; the choice about surveys is dropped.
    decoded = codec().decode(value, NOW)
    assert decoded == ConsentState("a" * 22, POLICY.grant(["analytics"]), NOW)


def test_oversized_value_is_refused_unread() -> None:
    assert codec().decode("A" * 5000, NOW) is CookieProblem.OVERSIZED


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("", id="empty"),
        pytest.param("garbage", id="garbage"),
        pytest.param("1.2.3.4.5.6", id="dots"),
        pytest.param("é" * 10, id="non-ascii"),
        pytest.param("\x00\x01", id="control"),
    ],
)
def test_malformed_values_are_refused(value: str) -> None:
    assert isinstance(codec().decode(value, NOW), CookieProblem)


def test_signed_but_malformed_payload_is_refused() -> None:
    signer = codec()._signer
    bad = signer.sign(f"1.{POLICY.fingerprint}.zz.0.{'a' * 22}").decode()
    assert codec().decode(bad, NOW) is CookieProblem.MALFORMED
    too_many_bits = signer.sign(f"1.{POLICY.fingerprint}.ff.0.{'a' * 22}").decode()
    assert codec().decode(too_many_bits, NOW) is CookieProblem.MALFORMED


def test_a_hundred_purposes_fit_under_the_cookie_limit_and_more_are_refused() -> None:
    purposes = [Purpose("necessary", "N", required=True)]
    purposes += [Purpose(f"purpose_with_a_long_name_{i:03d}", f"P{i}") for i in range(100)]
    policy = ConsentPolicy(purposes, version="1")
    big = codec(policy=policy)
    assert big.max_value_length() <= MAX_VALUE_BYTES
    all_granted = ConsentState("b" * 22, policy.grant(p.id for p in purposes), NOW)
    assert big.decode(big.encode(all_granted), NOW) == all_granted
    one_more = ConsentPolicy([*purposes, Purpose("extra", "E")], version="1")
    with pytest.raises(ConfigurationError, match="at most 100 fit in the consent cookie"):
        codec(policy=one_more)


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        pytest.param([], "secret_keys is empty", id="empty"),
        pytest.param(["short"], r"secret_keys\[0\] is 5 bytes", id="short"),
        pytest.param([KEY, "x" * 31], r"secret_keys\[1\] is 31 bytes", id="short-old-key"),
        pytest.param(KEY, "must be a list of keys", id="bare-string"),
        pytest.param([12345678], r"secret_keys\[0\] must be str or bytes", id="not-text"),
    ],
)
def test_bad_keys_fail_at_construction(keys: object, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        ConsentCookieCodec(POLICY, keys)  # type: ignore[arg-type]


def test_consent_ids_are_random() -> None:
    ids = {new_consent_id() for _ in range(100)}
    assert len(ids) == 100
    assert all(len(i) >= 22 for i in ids)


def test_cache_does_not_outlive_expiry() -> None:
    c = codec()
    value = c.encode(state("analytics", at=int(time.time())))
    assert isinstance(c.decode(value, time.time()), ConsentState)
    assert c.decode(value, time.time() + 181 * DAY) is CookieProblem.EXPIRED


def _edited(**changes: dict[str, object]) -> ConsentPolicy:
    """The default policy, same version, with some purposes' fields replaced."""
    purposes = [
        dataclasses.replace(p, **changes.get(p.id, {}))  # type: ignore[arg-type]
        for p in POLICY.purposes
    ]
    return ConsentPolicy(purposes, version=POLICY.version, signals=POLICY.signals)


def _reordered() -> ConsentPolicy:
    first, *rest = POLICY.purposes
    return ConsentPolicy([first, *reversed(rest)], version=POLICY.version)


GRANT_EDITS = {
    "marketing-made-sensitive": (
        lambda: _edited(marketing={"sensitive": True, "opt_out_allowed": False}),
        {"marketing"},
    ),
    "analytics-opts-out-on-gpc": (lambda: _edited(analytics={"gpc_opt_out": True}), {"analytics"}),
    "marketing-no-longer-opts-out-on-gpc": (
        lambda: _edited(marketing={"gpc_opt_out": False}),
        {"marketing"},
    ),
    "analytics-implies-marketing": (
        lambda: _edited(analytics={"implies": ("marketing",)}),
        {"analytics"},
    ),
    "personalisation-implies-nothing": (
        lambda: _edited(personalisation={"implies": ()}),
        {"personalisation"},
    ),
    "analytics-gets-a-version": (lambda: _edited(analytics={"version": "2"}), {"analytics"}),
}


@pytest.mark.parametrize(("edit", "changed"), list(GRANT_EDITS.values()), ids=list(GRANT_EDITS))
def test_a_purpose_edit_that_changes_what_its_grant_means_asks_about_it_again(
    edit: Callable[[], ConsentPolicy], changed: set[str]
) -> None:
    edited = edit()
    assert edited.version == POLICY.version
    for granted in [("analytics",), ("marketing",), POLICY.accept_all_ids, ()]:
        value = codec().encode(state(*granted))
        decoded = codec(policy=edited).decode(value, NOW)
        assert isinstance(decoded, ConsentState)
        assert decoded.pending == decoded.changed == changed
        # The other choices are kept as they were made.
        assert decoded.granted == POLICY.grant(granted) - changed


def test_a_purpose_made_required_is_granted_and_the_others_are_kept() -> None:
    edited = _edited(analytics={"required": True, "opt_out_allowed": False})
    decoded = codec(policy=edited).decode(codec().encode(state("marketing")), NOW)
    assert isinstance(decoded, ConsentState)
    assert decoded.granted == {"necessary", "analytics", "marketing"}
    assert decoded.pending == set()


def test_an_analytics_cookie_is_not_read_as_marketing_once_analytics_is_required() -> None:
    value = codec().encode(state("analytics"))
    decoded = codec(policy=_edited(analytics={"required": True, "opt_out_allowed": False})).decode(
        value, NOW
    )
    assert not (isinstance(decoded, ConsentState) and "marketing" in decoded.granted)


COSMETIC_EDITS = {
    "optional-purposes-reordered": _reordered,
    "labels": lambda: _edited(analytics={"label": "Count visits"}, marketing={"label": "Ads"}),
    "descriptions": lambda: _edited(
        necessary={"description": "Reworded."}, personalisation={"description": ""}
    ),
    "cookie-lists": lambda: _edited(analytics={"cookies": ("_ga", "_gid*")}),
    "implies-listed-in-another-order": lambda: _edited(
        personalisation={"implies": ("session_personalisation", "session_personalisation")}
    ),
}


@pytest.mark.parametrize("edit", list(COSMETIC_EDITS.values()), ids=list(COSMETIC_EDITS))
def test_a_cosmetic_policy_edit_keeps_every_cookie_valid(
    edit: Callable[[], ConsentPolicy],
) -> None:
    edited = edit()
    assert edited.version_stamp == POLICY.version_stamp
    assert edited.purpose_tags == POLICY.purpose_tags
    for granted in [("analytics",), ("marketing",), POLICY.accept_all_ids, ()]:
        original = state(*granted)
        assert codec(policy=edited).decode(codec().encode(original), NOW) == original


# -- reading a Cookie header, remembered ----------------------------------------------


def test_a_remembered_header_is_still_checked_for_time_each_time() -> None:
    reader = codec()
    original = state("analytics")
    header = f"a=1; consent={reader.encode(original)}"
    lifetime = int(POLICY.consent_lifetime.total_seconds())
    assert reader.read(header, "consent=", NOW) == original
    assert reader.read(header, "consent=", NOW) == original
    assert reader.read(header, "consent=", NOW + lifetime + 1) is CookieProblem.EXPIRED
    assert reader.read(header, "consent=", NOW - 301) is CookieProblem.EXPIRED
    assert reader.read(header, "consent=", NOW + 1) == original


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        pytest.param("a=1", None, id="no-consent-cookie"),
        pytest.param("consent=x.y", CookieProblem.BAD_SIGNATURE, id="forged"),
        pytest.param("consent={v}; consent={w}", CookieProblem.DUPLICATE, id="two-values"),
        pytest.param("consent={v}; consent={v}", "state", id="same-value-twice"),
        pytest.param("xconsent={v}", None, id="other-name"),
    ],
)
def test_reading_a_header_twice_gives_the_same_answer(header: str, expected: object) -> None:
    reader = codec()
    original, other = state("analytics"), state("marketing")
    header = header.format(v=reader.encode(original), w=reader.encode(other))
    for _ in range(2):
        result = reader.read(header, "consent=", NOW)
        assert result == (original if expected == "state" else expected)


def test_headers_are_remembered_with_the_cookie_name_asked_for() -> None:
    reader = codec()
    original = state("analytics")
    header = f"consent={reader.encode(original)}"
    assert reader.read(header, "consent=", NOW) == original
    assert reader.read(header, "other=", NOW) is None
    assert reader.read(header, "consent=", NOW) == original


def test_the_cache_stays_bounded() -> None:
    reader = ConsentCookieCodec(POLICY, [KEY], cache_size=8)
    values = [reader.encode(state("analytics")) for _ in range(40)]
    for n, value in enumerate(values):
        reader.read(f"n={n}; consent={value}", "consent=", NOW)
    assert reader._entries.cache_info().currsize == 8
    # The newest are kept, and an evicted one is verified again.
    assert reader.read(f"n=39; consent={values[39]}", "consent=", NOW) is not None
    assert isinstance(reader.read(f"n=0; consent={values[0]}", "consent=", NOW), ConsentState)
