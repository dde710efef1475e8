"""Consent-aware personalisation for Python storefronts.

Wrap an ASGI app with :class:`ConsentMiddleware` or a WSGI app with
:class:`ConsentWSGIMiddleware`, then ask :func:`get_context` what each request may use.
"""

from __future__ import annotations

from .core.context import ENVIRON_KEY, SCOPE_KEY, Mode, PersonalisationContext, get_context
from .core.exceptions import (
    ConfigurationError,
    ConsentError,
    ConsentRequired,
    MiddlewareNotInstalled,
)
from .core.policy import ConsentPolicy, Purpose, Scope, Signal
from .core.reasons import Reason
from .web.asgi import ConsentMiddleware
from .web.wsgi import ConsentWSGIMiddleware

__version__ = "0.1.0"

__all__ = [
    "ENVIRON_KEY",
    "SCOPE_KEY",
    "ConfigurationError",
    "ConsentError",
    "ConsentMiddleware",
    "ConsentPolicy",
    "ConsentRequired",
    "ConsentWSGIMiddleware",
    "MiddlewareNotInstalled",
    "Mode",
    "PersonalisationContext",
    "Purpose",
    "Reason",
    "Scope",
    "Signal",
    "get_context",
]
