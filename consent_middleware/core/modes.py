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


class _MemberValue:
    """``Mode.X.value`` as a plain attribute of each member.

    Enum's own ``value`` is a data descriptor that runs Python code on every read, about
    a third of a microsecond; pages read ``ctx.mode.value`` on every request. A descriptor
    without ``__set__`` lets each member's own ``value`` entry answer instead.
    """

    def __get__(self, member: Mode | None, owner: type[Mode] | None = None) -> object:
        return self if member is None else member._value_


Mode.value = _MemberValue()  # type: ignore[assignment]
for _member in Mode:
    vars(_member)["value"] = _member._value_
del _member


# Looking a member up on an Enum class runs the metaclass's own lookup; the answer for
# every request reads these plain names instead.
_PERSONALISED = Mode.PERSONALISED
_SESSION = Mode.SESSION
_NON_PERSONALISED = Mode.NON_PERSONALISED


def mode_for(granted: frozenset[str]) -> Mode:
    """The mode a set of granted purposes allows."""
    if PERSONALISATION in granted:
        return _PERSONALISED
    if SESSION_PERSONALISATION in granted:
        return _SESSION
    return _NON_PERSONALISED
