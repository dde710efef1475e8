"""``manage.py check``: the settings dict is valid and the middleware is installed where it
sees every cookie."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from .settings import SETTING, consent_options

MIDDLEWARE_PATH = "consent_middleware.django.ConsentMiddleware"

#: Middleware known to set cookies in its response phase: listed before ours, it runs after
#: the screening, and its cookies leave unscreened.
COOKIE_MIDDLEWARE = (
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "oscar.apps.basket.middleware.BasketMiddleware",
)

#: Django's middleware that stores responses: after ours, it keeps them before they carry
#: ``Vary: Cookie`` and ``private``, and serves one visitor's page to others.
CACHE_MIDDLEWARE = (
    "django.middleware.cache.UpdateCacheMiddleware",
    "django.middleware.cache.CacheMiddleware",
)


@checks.register()
def check_settings(**kwargs: Any) -> list[checks.CheckMessage]:
    """An error for a wrong ``CONSENT_MIDDLEWARE``; a warning for a missing middleware, for
    one placed after middleware that sets cookies, or before Django's cache middleware."""
    found: list[checks.CheckMessage] = []
    try:
        consent_options()
    except ImproperlyConfigured as e:
        found.append(checks.Error(str(e), id="consent_middleware.E001"))
    middleware = list(getattr(settings, "MIDDLEWARE", None) or ())
    if MIDDLEWARE_PATH in middleware:
        before = middleware[: middleware.index(MIDDLEWARE_PATH)]
        for path in [path for path in before if path in COOKIE_MIDDLEWARE]:
            found.append(
                checks.Warning(
                    f"{path} comes before {MIDDLEWARE_PATH} in MIDDLEWARE: the cookies it "
                    "sets leave without being screened by the visitor's consent",
                    hint=f"move {MIDDLEWARE_PATH!r} above it, right after SecurityMiddleware",
                    id="consent_middleware.W002",
                )
            )
        for path in [path for path in middleware[len(before) :] if path in CACHE_MIDDLEWARE]:
            found.append(
                checks.Warning(
                    f"{path} comes after {MIDDLEWARE_PATH} in MIDDLEWARE: it stores pages "
                    "before they are marked Vary: Cookie or private, and serves one "
                    "shopper's page to others",
                    hint=f"put {path!r} first in MIDDLEWARE, before {MIDDLEWARE_PATH!r}",
                    id="consent_middleware.W003",
                )
            )
    else:
        found.append(
            checks.Warning(
                f"{MIDDLEWARE_PATH} is not in MIDDLEWARE: requests have no consent context "
                "and the consent pages are not served",
                hint=f"add {MIDDLEWARE_PATH!r} to MIDDLEWARE, after SecurityMiddleware",
                id="consent_middleware.W001",
            )
        )
    return found


__all__ = ["CACHE_MIDDLEWARE", "COOKIE_MIDDLEWARE", "MIDDLEWARE_PATH", "SETTING", "check_settings"]
