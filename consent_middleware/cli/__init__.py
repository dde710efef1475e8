"""The ``consent-middleware`` command line: audit, report, purge and key generation."""

from __future__ import annotations

from .main import main

__all__ = ["main"]
