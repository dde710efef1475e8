"""The three personalisation modes."""

from __future__ import annotations

from enum import StrEnum

from .policy import PERSONALISATION, SESSION_PERSONALISATION

__all__ = ["Mode", "mode_for"]


class Mode(StrEnum):
    """How far a request may be personalised."""

    #: ``personalisation`` granted: stated preferences and history across visits.
    PERSONALISED = "personalised"
    #: Guest mode: only ``session_personalisation`` granted; signals of this visit only.
    SESSION = "session"
    #: No personalisation purpose granted, no decision yet, or consent could not be read.
    NON_PERSONALISED = "non_personalised"


def mode_for(granted: frozenset[str]) -> Mode:
    """The mode a set of granted purposes allows."""
    if PERSONALISATION in granted:
        return Mode.PERSONALISED
    if SESSION_PERSONALISATION in granted:
        return Mode.SESSION
    return Mode.NON_PERSONALISED
