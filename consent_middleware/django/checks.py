"""``manage.py check``: the settings dict is valid and the middleware is installed."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from .settings import SETTING, consent_options

MIDDLEWARE_PATH = "consent_middleware.django.ConsentMiddleware"


@checks.register()
def check_settings(**kwargs: Any) -> list[checks.CheckMessage]:
    """An error for a wrong ``CONSENT_MIDDLEWARE``, a warning for a missing middleware."""
    found: list[checks.CheckMessage] = []
    try:
        consent_options()
    except ImproperlyConfigured as e:
        found.append(checks.Error(str(e), id="consent_middleware.E001"))
    if MIDDLEWARE_PATH not in getattr(settings, "MIDDLEWARE", ()):
        found.append(
            checks.Warning(
                f"{MIDDLEWARE_PATH} is not in MIDDLEWARE: requests have no consent context "
                "and the consent pages are not served",
                hint=f"add {MIDDLEWARE_PATH!r} to MIDDLEWARE, after SecurityMiddleware",
                id="consent_middleware.W001",
            )
        )
    return found


__all__ = ["MIDDLEWARE_PATH", "SETTING", "check_settings"]
