"""Jinja2 helpers: ``consent_middleware.jinja.install(env)``.

The helpers live in :mod:`consent_middleware.ui.jinja`; this module keeps the public import.
"""

from __future__ import annotations

from .ui.jinja import ConsentExtension, install

__all__ = ["ConsentExtension", "install"]
