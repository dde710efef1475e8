"""Django integration: an installable app with the consent middleware and template tags.

In ``settings.py``::

    INSTALLED_APPS = [..., "consent_middleware.django"]
    MIDDLEWARE = [..., "consent_middleware.django.ConsentMiddleware", ...]
    CONSENT_MIDDLEWARE = {"secret_keys": [...], "policy": "policy.toml"}

then ``request.consent`` (or ``get_context(request)``) in views and ``{% load consent %}`` in
templates.
"""

from __future__ import annotations

from .middleware import ConsentMiddleware

__all__ = ["ConsentMiddleware"]
