from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consent_middleware import ConfigurationError, ConsentPolicy, Purpose, Signal, SignalScope

EXAMPLE_TOML = Path(__file__).parent.parent / "examples" / "policy.toml"


def test_default_policy_declares_the_five_contract_purposes() -> None:
    policy = ConsentPolicy.default()
    assert [p.id for p in policy.purposes] == [
        "necessary",
        "session_personalisation",
        "personalisation",
        "analytics",
        "marketing",
    ]
    assert policy.required_ids == {"necessary"}
    assert policy.gpc_opt_out_ids == {"marketing"}
    assert policy.consent_lifetime == timedelta(days=180)
    assert [p.id for p in policy.optional] == [
        "session_personalisation",
        "personalisation",
        "analytics",
        "marketing",
    ]


def test_personalisation_implies_session_personalisation() -> None:
    policy = ConsentPolicy.default()
    assert policy.grant(["personalisation"]) == {
        "necessary",
        "personalisation",
        "session_personalisation",
    }
    assert policy.grant([]) == {"necessary"}
    assert policy.grant(["no_such_purpose", "analytics"]) == {"necessary", "analytics"}


def test_fingerprint_changes_with_version_and_purposes() -> None:
    base = ConsentPolicy.default()
    assert ConsentPolicy.default().fingerprint == base.fingerprint
    assert ConsentPolicy.default(version="2").fingerprint != base.fingerprint
    fewer = ConsentPolicy(base.purposes[:-1], version=base.version)
    assert fewer.fingerprint != base.fingerprint


def _purposes(*extra: Purpose) -> list[Purpose]:
    return [Purpose("necessary", "Necessary", required=True), Purpose("ads", "Ads"), *extra]


@pytest.mark.parametrize(
    ("build", "message"),
    [
        pytest.param(
            lambda: ConsentPolicy(_purposes(Purpose("ads", "Again")), version="1"),
            "declares purpose 'ads' twice",
            id="duplicate-purpose",
        ),
        pytest.param(
            lambda: ConsentPolicy(
                _purposes(),
                version="1",
                signals=[Signal("a", "A", "ads"), Signal("a", "A", "ads")],
            ),
            "declares signal 'a' twice",
            id="duplicate-signal",
        ),
        pytest.param(
            lambda: ConsentPolicy(_purposes(), version="1", signals=[Signal("a", "A", "nope")]),
            "signal 'a' uses unknown purpose 'nope'",
            id="signal-unknown-purpose",
        ),
        pytest.param(
            lambda: ConsentPolicy(
                _purposes(), version="1", signals=[Signal("a", "A", "necessary")]
            ),
            "uses required purpose 'necessary'",
            id="signal-under-required-purpose",
        ),
        pytest.param(
            lambda: ConsentPolicy(
                _purposes(), version="1", signals=[Signal("a", "A", "ads", sensitive=True)]
            ),
            "signal 'a' is sensitive but uses the general purpose 'ads': give it a purpose of its "
            "own, declared sensitive=True",
            id="sensitive-signal-general-purpose",
        ),
        pytest.param(
            lambda: ConsentPolicy(_purposes(Purpose("x", "X", implies=("zz",))), version="1"),
            "implies unknown purpose 'zz'",
            id="implies-unknown",
        ),
        pytest.param(
            lambda: ConsentPolicy(_purposes(Purpose("x", "X", implies=("x",))), version="1"),
            "implies itself",
            id="implies-itself",
        ),
        pytest.param(
            lambda: Purpose("necessary", "N", required=True, gpc_opt_out=True),
            "is required, so it cannot be refused",
            id="required-but-refusable-by-gpc",
        ),
        pytest.param(
            lambda: Purpose("health", "H", required=True, sensitive=True),
            "cannot be required",
            id="required-sensitive",
        ),
        pytest.param(
            lambda: ConsentPolicy(_purposes(), version="1", consent_lifetime=timedelta(days=396)),
            "at most 395 days",
            id="lifetime-too-long",
        ),
        pytest.param(
            lambda: ConsentPolicy(_purposes(), version="1", consent_lifetime=timedelta(0)),
            "consent_lifetime must be a positive timedelta",
            id="lifetime-zero",
        ),
        pytest.param(
            lambda: ConsentPolicy(_purposes(), version=""),
            "version must be a non-empty string",
            id="empty-version",
        ),
        pytest.param(
            lambda: Purpose("Bad Id", "X"),
            "purpose id 'Bad Id' is invalid",
            id="bad-purpose-id",
        ),
        pytest.param(lambda: Purpose("x", ""), "label must be a non-empty string", id="no-label"),
        pytest.param(
            lambda: Purpose("x", "X", cookies=("bad name",)),
            "is not a valid cookie name",
            id="bad-cookie-name",
        ),
        pytest.param(
            lambda: Purpose("x", "X", cookies="_ga"),  # type: ignore[arg-type]
            "cookies must be a list of strings",
            id="cookies-not-a-list",
        ),
        pytest.param(
            lambda: Signal("a", "A", "ads", scope="forever"),  # type: ignore[arg-type]
            "scope must be 'session' or 'persistent'",
            id="bad-scope",
        ),
        pytest.param(
            lambda: Signal("a", "A", "ads", scope=SignalScope.PERSISTENT),
            "signal 'a' is kept across visits with no retention: say how long it is kept",
            id="persistent-without-retention",
        ),
        pytest.param(
            lambda: Signal("a", "A", "ads", retention=timedelta(days=-1)),
            "retention must be a positive timedelta",
            id="negative-retention",
        ),
        pytest.param(
            lambda: ConsentPolicy(["necessary"], version="1"),  # type: ignore[list-item]
            "must be Purpose objects",
            id="purpose-not-object",
        ),
    ],
)
def test_invalid_policies_fail_at_construction(build: Any, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        build()


def test_old_scope_name_still_imports_with_a_deprecation_warning() -> None:
    import consent_middleware

    with pytest.warns(DeprecationWarning, match="import SignalScope instead"):
        from consent_middleware import Scope
    assert Scope is SignalScope
    assert "Scope" not in consent_middleware.__all__ and "SignalScope" in consent_middleware.__all__
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        consent_middleware.Nope  # noqa: B018


def test_configuration_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        ConsentPolicy([], version="")


def test_purpose_cookie_patterns() -> None:
    purpose = Purpose("analytics", "A", cookies=("_ga*", "_gid"))
    assert purpose.owns_cookie("_ga")
    assert purpose.owns_cookie("_ga_XYZ")
    assert purpose.owns_cookie("_gid")
    assert not purpose.owns_cookie("_gidx")
    assert not purpose.owns_cookie("cart")


def test_a_declared_name_covers_its_secure_and_host_variants_but_not_other_cases() -> None:
    purpose = Purpose("analytics", "A", cookies=("_ga*", "_gid"))
    # The prefixes change how a browser lets a cookie be set, not what it is for; browsers
    # match them in any case.
    for name in ("__Host-_ga", "__Secure-_ga_XYZ", "__secure-_gid", "__HOST-_gid"):
        assert purpose.owns_cookie(name), name
    assert purpose.owns_cookie("__Host-Http-_gid")
    assert purpose.owns_cookie("__Secure-__Host-_gid")
    # Names themselves are case-sensitive, as in browsers: "_GID" is another cookie.
    assert not purpose.owns_cookie("_GID")
    assert not purpose.owns_cookie("__Host-_GID")
    assert not purpose.owns_cookie("__Host-cart")
    assert not purpose.owns_cookie("x__Host-_gid")


def test_from_toml_reads_the_example_policy() -> None:
    policy = ConsentPolicy.from_toml(EXAMPLE_TOML)
    assert policy.version == "2026-11"
    assert policy.last_updated == date(2026, 11, 29)
    assert policy.consent_lifetime == timedelta(days=180)
    assert {"necessary", "personalisation", "session_personalisation"} <= {
        p.id for p in policy.purposes
    }
    analytics = policy.purpose("analytics")
    assert analytics.owns_cookie("_ga_123")
    viewed = policy.signal("viewed_products")
    assert viewed.scope is SignalScope.SESSION
    stated = policy.signal("favourite_categories")
    assert stated.scope is SignalScope.PERSISTENT
    assert stated.retention == timedelta(days=365)
    assert policy.signal("health_interest").sensitive


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "policy.toml"
    path.write_text(text)
    return path


MINIMAL = """
version = "1"
[[purposes]]
id = "necessary"
label = "Necessary"
required = true
"""


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("version = ", "is not valid TOML", id="bad-toml"),
        pytest.param("[[purposes]]\nid='a'\nlabel='A'", "needs a version", id="no-version"),
        pytest.param(MINIMAL + "colour = 'red'", "unknown key\\(s\\) colour", id="unknown-key"),
        pytest.param(
            MINIMAL.replace("required = true", "required = 'yes'"),
            "required must be true or false",
            id="bad-bool",
        ),
        pytest.param(
            MINIMAL + "\n[[signals]]\nid='s'\nlabel='S'\npurpose='necessary'\nretention_days=0",
            "retention_days must be a positive number of days",
            id="zero-retention",
        ),
        pytest.param(
            "consent_lifetime_days = 400\n" + MINIMAL, "at most 395 days", id="long-lifetime"
        ),
        pytest.param(
            "last_updated = 'yesterday'\n" + MINIMAL, "last_updated must be a date", id="bad-date"
        ),
        pytest.param("version = '1'\npurposes = 3", "must be an array of tables", id="not-array"),
        pytest.param(
            "consent_lifetime_days = nan\n" + MINIMAL,
            "consent_lifetime_days must be a positive number of days",
            id="nan-lifetime",
        ),
        pytest.param(
            "ledger_retention_days = inf\n" + MINIMAL,
            "ledger_retention_days must be a positive number of days",
            id="infinite-retention",
        ),
        pytest.param(
            MINIMAL + "\n[[signals]]\nid='s'\nlabel='S'\npurpose='necessary'\nretention_days=1e300",
            "retention_days is 1e\\+300 days, more than Python's dates can count",
            id="huge-retention",
        ),
        pytest.param(
            "version = '1'\n[[purposes]]\nlabel='A'", "needs an id and a label", id="no-id"
        ),
    ],
)
def test_from_toml_errors_name_the_file_and_field(tmp_path: Path, text: str, message: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigurationError, match=message) as info:
        ConsentPolicy.from_toml(path)
    assert str(path) in str(info.value)


def test_from_toml_refuses_a_file_not_in_utf8(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_bytes(MINIMAL.replace("Necessary", "N\u00e9cessaire").encode("latin-1"))
    with pytest.raises(ConfigurationError, match="is not valid TOML") as info:
        ConsentPolicy.from_toml(path)
    assert str(path) in str(info.value)


def test_from_toml_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="does not exist"):
        ConsentPolicy.from_toml(tmp_path / "nope.toml")


def test_from_mapping_matches_toml_shape() -> None:
    policy = ConsentPolicy.from_mapping(
        {"version": "7", "purposes": [{"id": "necessary", "label": "N", "required": True}]}
    )
    assert policy.version == "7"
    assert policy.required_ids == {"necessary"}


def _offers_implying_health() -> ConsentPolicy:
    return ConsentPolicy(
        [
            Purpose("necessary", "Necessary", required=True),
            Purpose("health", "Health", sensitive=True),
            Purpose("offers", "Offers", implies=("health",)),
        ],
        version="1",
    )


def test_no_purpose_may_imply_a_sensitive_one() -> None:
    with pytest.raises(ConfigurationError, match="implies sensitive purpose 'health'"):
        _offers_implying_health()


_IDS = ["p0", "p1", "p2", "p3", "p4", "p5"]


@st.composite
def _policies(draw: st.DrawFn) -> list[Purpose]:
    ids = draw(st.lists(st.sampled_from(_IDS), min_size=1, max_size=6, unique=True))
    purposes = []
    for pid in ids:
        required = draw(st.booleans())
        purposes.append(
            Purpose(
                pid,
                pid.upper(),
                required=required,
                sensitive=not required and draw(st.booleans()),
                implies=tuple(draw(st.lists(st.sampled_from(_IDS), max_size=3))),
            )
        )
    return purposes


@settings(max_examples=150, deadline=None, derandomize=True)
@given(_policies())
def test_accept_all_never_grants_a_sensitive_purpose(purposes: list[Purpose]) -> None:
    """Whatever policy is accepted at start-up, "Accept all" grants no sensitive purpose,
    neither directly nor by implication."""
    try:
        policy = ConsentPolicy(purposes, version="1")
    except ConfigurationError:
        return
    sensitive = {p.id for p in policy.purposes if p.sensitive}
    assert not sensitive & policy.grant(policy.accept_all_ids)
