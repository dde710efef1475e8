"""One options object: built from keywords, an options object or a settings mapping, checked
once, with errors that name the option and the fix."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from dataclasses import fields, replace
from datetime import timedelta
from pathlib import Path
from typing import Any, get_type_hints

import pytest
from starlette.applications import Starlette

from consent_middleware import (
    ConfigurationError,
    ConsentMiddleware,
    ConsentPolicy,
    ConsentWSGIMiddleware,
)
from consent_middleware.core.stores import MemoryPreferenceBackend
from consent_middleware.web.options import ConsentOptions, ConsentSettings

from .apps import wsgi_app
from .conftest import KEY


def test_keyword_spelling_matches_the_options_fields() -> None:
    hints = get_type_hints(ConsentSettings)
    option_hints = get_type_hints(ConsentOptions)
    options = {f.name for f in fields(ConsentOptions) if f.init}
    assert set(hints) == options
    assert {name: option_hints[name] for name in options} == hints


def test_defaults_are_filled_in_and_values_made_canonical() -> None:
    options = ConsentOptions(
        secret_keys=[KEY],
        cookie_domains=iter([".shop.test"]),
        trusted_origins=["HTTPS://Shop.Test/"],
        visit_lifetime=5400,
    )
    assert isinstance(options.policy, ConsentPolicy)
    assert options.policy.version == ConsentPolicy.default().version
    assert options.keys == (KEY.encode(),)
    assert options.secret_keys == (KEY,)
    assert options.cookie_domains == (".shop.test",)
    assert options.trusted_origins == frozenset({"https://shop.test"})
    assert options.visit_lifetime == timedelta(minutes=90)
    assert options.data_exporters == {} and options.data_erasers == {}


def test_options_are_frozen_and_keep_keys_out_of_their_repr() -> None:
    options = ConsentOptions(secret_keys=[KEY])
    with pytest.raises(AttributeError):
        options.secure = False  # type: ignore[misc]
    assert KEY not in repr(options)
    assert "prefix='/consent'" in repr(options)


def test_a_variant_is_checked_in_turn() -> None:
    options = ConsentOptions(secret_keys=[KEY], trusted_origins=["https://shop.test"])
    variant = replace(options, prefix="/privacy")
    assert (variant.prefix, variant.keys, variant.trusted_origins) == (
        "/privacy",
        options.keys,
        options.trusted_origins,
    )
    with pytest.raises(ConfigurationError, match="prefix 'privacy' is invalid"):
        replace(options, prefix="privacy")


def test_checking_opens_no_ledger(tmp_path: Path) -> None:
    ConsentOptions(secret_keys=[KEY], ledger=f"sqlite:///{tmp_path}/ledger.db")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("middleware", ["asgi", "wsgi"])
def test_middleware_takes_an_options_object(middleware: str) -> None:
    options = ConsentOptions(secret_keys=[KEY], secure=False, prefix="/privacy")
    if middleware == "asgi":
        engine = ConsentMiddleware(Starlette(), options=options).engine
    else:
        engine = ConsentWSGIMiddleware(wsgi_app, options=options).engine
    assert engine.options is options
    assert engine.cookie_name == "consent"
    assert engine.prefix == "/privacy"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        pytest.param(
            {"options": ConsentOptions(secret_keys=[KEY]), "secure": False},
            "not both: move secure into the ConsentOptions",
            id="options-and-keywords",
        ),
        pytest.param(
            {"options": {"secret_keys": [KEY]}}, "options must be a ConsentOptions", id="dict"
        ),
        pytest.param(
            {"secret_keys": [KEY], "secret_key": KEY},
            "no option 'secret_key': did you mean 'secret_keys'?",
            id="typo",
        ),
        pytest.param({}, "secret_keys is empty", id="no-keys"),
    ],
)
def test_middleware_refuses_confused_options(arguments: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        ConsentMiddleware(Starlette(), **arguments)


def test_settings_mapping_gives_the_same_options_as_keywords() -> None:
    backend = MemoryPreferenceBackend()
    settings: dict[str, object] = {
        "secret_keys": [KEY],
        "secure": False,
        "prefix": "/privacy",
        "trusted_origins": ["https://shop.test"],
        "preference_backend": backend,
        "visit_lifetime": 600,
    }
    from_settings = ConsentOptions.from_mapping(settings)
    from_keywords = ConsentOptions(
        secret_keys=[KEY],
        secure=False,
        prefix="/privacy",
        trusted_origins=["https://shop.test"],
        preference_backend=backend,
        visit_lifetime=600,
    )
    assert from_settings.keys == from_keywords.keys
    for name in ("secure", "prefix", "trusted_origins", "preference_backend", "visit_lifetime"):
        assert getattr(from_settings, name) == getattr(from_keywords, name)


def test_settings_policy_may_be_a_policy_file(tmp_path: Path) -> None:
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text(
        'version = "7"\n\n[[purposes]]\nid = "necessary"\nlabel = "Necessary"\n'
        'required = true\n\n[[purposes]]\nid = "analytics"\nlabel = "Statistics"\n'
    )
    options = ConsentOptions.from_mapping(
        {"secret_keys": [KEY], "policy": str(policy_file)}, source="CONSENT_MIDDLEWARE"
    )
    assert options.policy is not None
    assert options.policy.version == "7"
    assert [p.id for p in options.policy.purposes] == ["necessary", "analytics"]


def test_settings_policy_file_problems_name_the_settings(tmp_path: Path) -> None:
    missing = tmp_path / "policy.toml"
    with pytest.raises(ConfigurationError, match=r"^CONSENT_MIDDLEWARE: policy file .* not exist"):
        ConsentOptions.from_mapping(
            {"secret_keys": [KEY], "policy": missing}, source="CONSENT_MIDDLEWARE"
        )


@pytest.mark.parametrize(
    ("key", "message"),
    [
        pytest.param("secret_key", "did you mean 'secret_keys'?", id="keys"),
        pytest.param("cookie_domain", "did you mean 'cookie_domains'?", id="domains"),
        pytest.param("enforce_withdrawals", "did you mean 'enforce_withdrawal'?", id="enforce"),
        pytest.param("SECRET_KEYS", "did you mean 'secret_keys'?", id="upper-case"),
        pytest.param("colour", "the options are ['secret_keys', 'policy', ", id="no-hint"),
    ],
)
def test_settings_refuse_an_unknown_key_by_name(key: str, message: str) -> None:
    expected = f"CONSENT_MIDDLEWARE has no option {key!r}: {message}"
    with pytest.raises(ConfigurationError, match="^" + re.escape(expected)):
        ConsentOptions.from_mapping({"secret_keys": [KEY], key: 1}, source="CONSENT_MIDDLEWARE")


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        pytest.param("secret_keys", KEY, "secret_keys must be a list of keys", id="keys"),
        pytest.param("policy", 3, "policy must be a ConsentPolicy", id="policy"),
        pytest.param("secure", "false", "secure must be True or False", id="secure"),
        pytest.param("gpc_json", 1, "gpc_json must be True or False", id="gpc-json"),
        pytest.param("prefix", 7, "prefix 7 is invalid", id="prefix"),
        pytest.param("cookie_name", None, "cookie_name None is not a valid", id="cookie-name"),
        pytest.param("cookie_domains", 5, "cookie_domains must be a list", id="domains"),
        pytest.param("trusted_origins", [1], "trusted_origins must hold non-empty", id="origins"),
        pytest.param("preference_backend", {}, "preference_backend needs load()", id="backend"),
        pytest.param("ledger", 42, "ledger must be a URL", id="ledger"),
        pytest.param("spool", 42, "spool must be a local directory", id="spool"),
        pytest.param("language", 5, "language 5 is not a language tag", id="language"),
        pytest.param("data_exporters", ["x"], "data_exporters must map names", id="exporters"),
        pytest.param("data_erasers", {"x": 1}, "data_erasers must map names", id="erasers"),
        pytest.param("pseudonymise_on_erase", "yes", "pseudonymise_on_erase must be", id="pse"),
        pytest.param("enforce_withdrawal", 1, "enforce_withdrawal must be True", id="enforce"),
        pytest.param("visit_lifetime", "4h", "visit_lifetime must be a timedelta", id="visit"),
    ],
)
def test_settings_refuse_a_wrong_type_by_key(key: str, value: object, message: str) -> None:
    settings = {"secret_keys": [KEY], "ledger": "sqlite:///unused.db", key: value}
    with pytest.raises(ConfigurationError, match=f"^CONSENT_MIDDLEWARE: {message}"):
        ConsentOptions.from_mapping(settings, source="CONSENT_MIDDLEWARE")


def test_settings_must_be_a_mapping() -> None:
    with pytest.raises(ConfigurationError, match="CONSENT_MIDDLEWARE must be a mapping"):
        ConsentOptions.from_mapping([("secret_keys", [KEY])], source="CONSENT_MIDDLEWARE")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param({"spool": "/tmp/spool"}, "spool= needs a ledger", id="spool"),
        pytest.param({"enforce_withdrawal": True}, "needs a ledger", id="enforce"),
    ],
)
def test_options_that_need_a_ledger(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        ConsentOptions(secret_keys=[KEY], **options)


def test_type_checkers_check_the_keywords(tmp_path: Path) -> None:
    """The keywords stay typed: mypy accepts the documented calls and flags mistakes."""
    source = tmp_path / "callers.py"
    source.write_text(
        textwrap.dedent(
            """
            from starlette.applications import Starlette
            from consent_middleware import ConsentMiddleware, ConsentWSGIMiddleware
            from consent_middleware.web.options import ConsentOptions

            def wsgi(environ: dict[str, object], start_response: object) -> list[bytes]:
                return []

            app = Starlette()
            ConsentMiddleware(app, secret_keys=["k"], secure=True, ledger="sqlite:///c.db")
            app.add_middleware(ConsentMiddleware, secret_keys=["k"], prefix="/privacy")
            ConsentMiddleware(app, options=ConsentOptions(secret_keys=["k"]))
            ConsentWSGIMiddleware(wsgi, secret_keys=["k"], visit_lifetime=600)
            ConsentMiddleware(app, secret_keys=["k"], secure="yes")  # line 14
            app.add_middleware(ConsentMiddleware, secret_keys=["k"], gpc_json=1)  # line 15
            ConsentWSGIMiddleware(wsgi, secret_keys=["k"], cookie_domain=[".a"])  # line 16
            """
        )
    )
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--follow-imports=silent"]
        + ["--cache-dir", str(tmp_path / "cache"), str(source)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=Path(__file__).parent.parent,
    )
    errors = [line for line in result.stdout.splitlines() if ": error:" in line]
    assert [line.split(":")[1] for line in errors] == ["14", "15", "16"], result.stdout
    assert '"secure"' in errors[0] and '"gpc_json"' in errors[1] and "cookie_domain" in errors[2]
