"""The external sources' middleware tests (tests/test_external_middleware.py) through
Django, under its WSGI and its ASGI handler, with ``CONSENT_MIDDLEWARE["external"]``."""

from __future__ import annotations

import inspect

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from consent_middleware.django.settings import consent_options
from consent_middleware.interop import OneTrust

from . import test_external_middleware
from .conftest import KEY
from .test_django_middleware import make_driver  # noqa: F401  (the Django drivers)

# Every test of the shared module that goes through a driver, collected here again.
globals().update(
    {
        name: test
        for name, test in vars(test_external_middleware).items()
        if name.startswith("test_")
        and {"shop", "make_driver"} & set(inspect.signature(test).parameters)
    }
)
shop = test_external_middleware.shop


def test_a_wrong_source_in_the_settings_is_improperly_configured() -> None:
    wrong = {"secret_keys": [KEY], "external": [OneTrust(groups={"C0002": "analytic"})]}
    with override_settings(CONSENT_MIDDLEWARE=wrong), pytest.raises(ImproperlyConfigured) as raised:
        consent_options()
    assert str(raised.value).startswith(
        "CONSENT_MIDDLEWARE: OneTrust(cookie='OptanonConsent') maps"
    )
    assert "'analytic', which the policy does not declare" in str(raised.value)
