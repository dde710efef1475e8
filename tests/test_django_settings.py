"""``settings.CONSENT_MIDDLEWARE``: the same options as the keyword arguments; a mistake is
``ImproperlyConfigured`` when Django loads the middleware, naming the key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from django.test import Client, override_settings

from consent_middleware import ConfigurationError, ConsentPolicy
from consent_middleware.django import ConsentMiddleware
from consent_middleware.django.settings import consent_options

from .conftest import KEY
from .django_project import setup

setup()

EXAMPLE_POLICY = Path(__file__).parent.parent / "examples" / "policy.toml"


def view(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


def build(settings: Any) -> ConsentMiddleware:
    with override_settings(CONSENT_MIDDLEWARE=settings):
        return ConsentMiddleware(view)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        pytest.param({}, "secret_keys is empty", id="no-keys"),
        pytest.param({"secret_keys": ["short"]}, "secret_keys[0] is 5 bytes", id="short-key"),
        pytest.param(
            {"secret_keys": [KEY], "secret_key": KEY},
            "CONSENT_MIDDLEWARE has no option 'secret_key': did you mean 'secret_keys'?",
            id="misspelt",
        ),
        pytest.param(
            {"SECRET_KEYS": [KEY]},
            "CONSENT_MIDDLEWARE has no option 'SECRET_KEYS': did you mean 'secret_keys'?",
            id="upper-case",
        ),
        pytest.param({"secret_keys": [KEY], "secure": "yes"}, "secure must be True", id="secure"),
        pytest.param(
            {"secret_keys": [KEY], "prefix": "consent/"},
            "prefix 'consent/' is invalid",
            id="prefix",
        ),
        pytest.param(
            {"secret_keys": [KEY], "policy": "no-such-policy.toml"},
            "policy file 'no-such-policy.toml' does not exist",
            id="policy-file",
        ),
        pytest.param(
            {"secret_keys": [KEY], "policy": 42}, "policy must be a ConsentPolicy", id="policy"
        ),
        pytest.param({"secret_keys": [KEY], "ledger": "mysql://shop"}, "ledger", id="ledger-url"),
        pytest.param([("secret_keys", [KEY])], "CONSENT_MIDDLEWARE must be a mapping", id="list"),
    ],
)
def test_a_mistake_is_improperly_configured_naming_the_key(settings: Any, message: str) -> None:
    with pytest.raises(ImproperlyConfigured) as raised:
        build(settings)
    assert message in str(raised.value)
    assert str(raised.value).startswith("CONSENT_MIDDLEWARE")
    assert isinstance(raised.value.__cause__, ConfigurationError)


def test_a_missing_setting_says_what_to_add() -> None:
    with override_settings():
        from django.conf import settings

        del settings.CONSENT_MIDDLEWARE
        with pytest.raises(ImproperlyConfigured, match="CONSENT_MIDDLEWARE is not set: add"):
            ConsentMiddleware(view)


def test_the_mistake_stops_django_loading_its_middleware() -> None:
    """At start-up, as Django's handler loads the middleware, not at a later request."""
    from django.core.handlers.wsgi import WSGIHandler

    wrong = override_settings(CONSENT_MIDDLEWARE={"secret_keys": [KEY], "secure": "no"})
    with wrong, pytest.raises(ImproperlyConfigured, match="secure must be True or False"):
        WSGIHandler()


def test_the_same_keys_as_the_keyword_arguments(tmp_path: Path) -> None:
    settings = {
        "secret_keys": [KEY],
        "policy": str(EXAMPLE_POLICY),
        "secure": False,
        "prefix": "/privacy",
        "cookie_name": "shop_consent",
        "trusted_origins": ["https://shop.example"],
        "ledger": f"sqlite:///{tmp_path}/consent.db",
    }
    middleware = build(settings)
    try:
        options = middleware.engine.options
        assert options.policy is not None
        assert "health_personalisation" in options.policy  # the file's, not the default
        assert options.prefix == "/privacy"
        assert middleware.engine.cookie_name == "shop_consent"
        assert options.trusted_origins == frozenset({"https://shop.example"})
        assert middleware.engine.recorder is not None
    finally:
        middleware.close()
    with override_settings(CONSENT_MIDDLEWARE=settings):
        assert consent_options().cookie_name == "shop_consent"


def test_a_policy_object_and_the_prefix_are_used() -> None:
    policy = ConsentPolicy.from_toml(EXAMPLE_POLICY)
    settings = {"secret_keys": [KEY], "policy": policy, "secure": False, "prefix": "/privacy"}
    with override_settings(CONSENT_MIDDLEWARE=settings):
        browser = Client()
        assert browser.get("/privacy").status_code == 200
        assert b"Products you viewed" in browser.get("/privacy").content
        assert browser.get("/consent").content.startswith(b"not found")  # the app's 404


# -- the app and manage.py check ----------------------------------------------------------


def test_the_app_is_installed_under_its_own_label() -> None:
    config = apps.get_app_config("consent_middleware")
    assert config.name == "consent_middleware.django"
    assert type(config).__name__ == "ConsentConfig"


def test_check_reports_a_wrong_setting() -> None:
    with override_settings(CONSENT_MIDDLEWARE={"secret_keys": [KEY], "secure": 1}):
        found = checks.run_checks()
    (error,) = [m for m in found if m.id == "consent_middleware.E001"]
    assert "secure must be True or False" in error.msg


def test_check_warns_when_the_middleware_is_missing() -> None:
    assert not [m for m in checks.run_checks() if m.id.startswith("consent_middleware")]
    with override_settings(MIDDLEWARE=[]):
        found = checks.run_checks()
    (warning,) = [m for m in found if m.id == "consent_middleware.W001"]
    assert "consent_middleware.django.ConsentMiddleware" in warning.msg


def test_check_warns_when_middleware_that_sets_cookies_comes_first() -> None:
    session = "django.contrib.sessions.middleware.SessionMiddleware"
    consent = "consent_middleware.django.ConsentMiddleware"
    with override_settings(MIDDLEWARE=[session, consent]):
        found = checks.run_checks()
    (warning,) = [m for m in found if m.id == "consent_middleware.W002"]
    assert session in warning.msg and "without being screened" in warning.msg
    with override_settings(MIDDLEWARE=[consent, session]):
        found = checks.run_checks()
    assert not [m for m in found if m.id == "consent_middleware.W002"]


@pytest.mark.parametrize(
    "cache",
    ["django.middleware.cache.UpdateCacheMiddleware", "django.middleware.cache.CacheMiddleware"],
)
def test_check_warns_when_the_cache_middleware_comes_after(cache: str) -> None:
    consent = "consent_middleware.django.ConsentMiddleware"
    with override_settings(MIDDLEWARE=[consent, cache]):
        found = checks.run_checks()
    (warning,) = [m for m in found if m.id == "consent_middleware.W003"]
    assert cache in warning.msg and "one shopper's page to others" in warning.msg
    with override_settings(MIDDLEWARE=[cache, consent]):
        found = checks.run_checks()
    assert not [m for m in found if m.id == "consent_middleware.W003"]
