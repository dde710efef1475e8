"""Consent-aware personalisation for Python storefronts.

Wrap an ASGI app with :class:`ConsentMiddleware` or a WSGI app with
:class:`ConsentWSGIMiddleware`, then ask :func:`get_context` what each request may use.
"""

from __future__ import annotations

import warnings
from typing import Any

from .core.context import ENVIRON_KEY, SCOPE_KEY, Mode, PersonalisationContext, get_context
from .core.exceptions import (
    ConfigurationError,
    ConsentError,
    ConsentRequired,
    MiddlewareNotInstalled,
    SignalStopped,
)
from .core.policy import ConsentPolicy, Purpose, Segment, Signal, SignalScope
from .core.reasons import Reason
from .core.regions import RegionRules, RuleSet
from .web.asgi import ConsentMiddleware
from .web.messages import RequestInfo
from .web.options import ConsentOptions
from .web.wsgi import ConsentWSGIMiddleware

__version__ = "0.1.0"

__all__ = [
    "ENVIRON_KEY",
    "SCOPE_KEY",
    "ConfigurationError",
    "ConsentError",
    "ConsentMiddleware",
    "ConsentOptions",
    "ConsentPolicy",
    "ConsentRequired",
    "ConsentWSGIMiddleware",
    "MiddlewareNotInstalled",
    "Mode",
    "PersonalisationContext",
    "Purpose",
    "Reason",
    "Segment",
    "Signal",
    "SignalScope",
    "SignalStopped",
    "get_context",
    "RegionRules",
    "RuleSet",
    "RequestInfo",
]


def __getattr__(name: str) -> Any:
    # ``Scope`` was the old name of SignalScope; ASGI calls its request dict ``Scope`` too.
    if name == "Scope":
        warnings.warn(
            "consent_middleware.Scope is deprecated: import SignalScope instead",
            DeprecationWarning,
            stacklevel=2,
        )
        return SignalScope
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
