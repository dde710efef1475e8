"""The regional rules through Django, under its WSGI and ASGI handlers, configured by the
``CONSENT_MIDDLEWARE`` settings dict."""

from __future__ import annotations

from . import test_regions
from .test_django_middleware import make_driver  # noqa: F401 (the Django drivers)

# The tests of test_regions.py that take a driver, collected here with Django's.
globals().update(
    {
        name: test
        for name, test in vars(test_regions).items()
        if name.startswith("test_") and "make_driver" in test.__code__.co_varnames
    }
)
