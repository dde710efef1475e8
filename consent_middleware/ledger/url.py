"""Opening a ledger from a URL or taking the host's own ledger object."""

from __future__ import annotations

import os
from urllib.parse import unquote, urlsplit

from ..core.exceptions import ConfigurationError
from .sql import Ledger
from .sqlite import SQLiteLedger, holds_other_data

__all__ = ["open_ledger"]


def open_ledger(target: str | Ledger, *, create: bool = True) -> Ledger:
    """A ledger from a URL (``sqlite:///relative.db``, ``sqlite:////absolute.db``,
    ``postgresql://user:password@host/db``) or a ledger object, checked now.

    With ``create=False`` a SQLite file that does not exist, or that holds no ledger (say,
    the shop's own database), is refused rather than made into one: a mistyped path must
    not pass for an empty ledger.
    """
    if not isinstance(target, str):
        if not isinstance(target, Ledger):
            raise ConfigurationError(
                "ledger must be a URL such as 'sqlite:///consent.db' or an object with "
                "write, history, erase, purge, events and close methods"
            )
        return target
    try:
        parts = urlsplit(target)
    except ValueError as e:  # an unclosed "[" in the host, say
        # Not repeated in the message: it may hold a password.
        raise ConfigurationError(
            f"the ledger URL cannot be read: {e}; use sqlite:///path.db or "
            "postgresql://user:password@host/db"
        ) from None
    if parts.scheme == "sqlite":
        path = unquote(parts.path)[1:] if parts.path.startswith("/") else ""
        if not path or parts.netloc or "\x00" in path:
            raise ConfigurationError(
                f"ledger URL {target!r} has no file: use sqlite:///relative/path.db or "
                "sqlite:////absolute/path.db"
            )
        if not create and not os.path.exists(path):
            raise ConfigurationError(
                f"ledger file {path!r} does not exist: check the path (the middleware creates "
                "the ledger when it records the first choice)"
            )
        if not create and holds_other_data(path):
            raise ConfigurationError(
                f"ledger file {path!r} holds no consent ledger: check the path (the "
                "middleware creates the ledger when it records the first choice)"
            )
        return SQLiteLedger(path)
    if parts.scheme in ("postgresql", "postgres"):
        from .postgres import PostgresLedger

        ledger = PostgresLedger(target)
        if not create and not ledger.holds_ledger():
            raise ConfigurationError(
                "the PostgreSQL database holds no consent ledger: check the URL (the "
                "middleware creates the ledger when it records the first choice)"
            )
        return ledger
    # "postgresql+psycopg://user:password@..." is a likely slip: keep its password out.
    password = parts.password
    shown = target if password is None else target.replace(f":{password}@", ":***@", 1)
    raise ConfigurationError(
        f"ledger URL {shown!r} is not supported: use sqlite:///path.db or postgresql://..."
    )
