"""Which ``Set-Cookie`` lines of an app may leave, for the purposes a request may use."""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum
from functools import lru_cache

from .cookie_dates import cookie_date
from .policy import ConsentPolicy

__all__ = [
    "UNDECLARED_COOKIES",
    "CookieGate",
    "Verdict",
    "is_set_cookie_header",
    "set_cookie_name",
]

#: What ``undeclared_cookies`` may say of a cookie that no purpose declares.
UNDECLARED_COOKIES = ("allow", "warn", "block")

# The blanks a browser trims around names, values and attributes (RFC 6265, 5.2).
_BLANK = " \t"
# Browsers ignore an attribute whose value is longer (RFC 6265bis, 5.6).
_MAX_ATTRIBUTE_VALUE = 1024


class Verdict(Enum):
    """What becomes of one ``Set-Cookie`` line of the app."""

    #: It goes out, whatever the visitor chose: a deletion, a required purpose's cookie,
    #: one of the middleware's own, or an undeclared one that is allowed.
    PASS = "pass"
    #: It goes out because a purpose that owns it is granted: the response then depends
    #: on the consent.
    GRANTED = "granted"
    #: Dropped: only purposes that are not granted own it.
    REFUSED = "refused"
    #: No purpose declares it; it goes out, and the operator is told once.
    UNDECLARED = "undeclared"
    #: No purpose declares it, and ``undeclared_cookies="block"`` drops it.
    BLOCKED = "blocked"


def is_set_cookie_header(name: str) -> bool:
    """Whether a response header of this name sets a cookie: ``Set-Cookie`` in any case,
    and with blanks before the colon, which browsers ignore (and some servers send)."""
    return len(name) >= 10 and name.rstrip(_BLANK).lower() == "set-cookie"


def set_cookie_name(line: str) -> str:
    """The cookie name of a ``Set-Cookie`` line, as a browser reads it: empty when the part
    before the first ``;`` has no ``=``, as that text is then the value of a nameless
    cookie (RFC 6265bis, 5.6), and must not be logged as a name."""
    name, equals, _ = line.partition(";")[0].partition("=")
    return name.strip(_BLANK) if equals else ""


def _is_deletion(line: str, now: float) -> bool:
    """Whether a ``Set-Cookie`` line removes its cookie, as a browser reads it (RFC 6265,
    5.2 and 5.3): the last valid ``Max-Age`` is zero or less or, without one, the last
    valid ``Expires`` is past. Removing data needs no consent; anything a browser would
    read otherwise is not a deletion."""
    expires = []
    # From the last attribute back: the first valid one of a kind is the one that counts.
    for attribute in reversed(line.split(";")[1:]):
        key, _, value = attribute.partition("=")
        key = key.strip(_BLANK).lower()
        if key == "max-age":
            value = value.strip(_BLANK)
            digits = value.removeprefix("-")
            if len(value) <= _MAX_ATTRIBUTE_VALUE and digits.isascii() and digits.isdigit():
                # Read as text: no number is too long, and "-0" and "00" are zero.
                return value.startswith("-") or not digits.strip("0")
        elif key == "expires":
            expires.append(value)
    for value in expires:
        value = value.strip(_BLANK)
        date = cookie_date(value) if len(value) <= _MAX_ATTRIBUTE_VALUE else None
        if date is not None:
            return date < now
    return False


class CookieGate:
    """Screens the ``Set-Cookie`` lines an app sends, by the policy's ``cookies``.

    A cookie owned only by purposes the request has not been granted (exact names, and
    ``prefix*``) never reaches the browser, whatever the app does: the server-side
    counterpart of a consent manager's script blocking, which cannot stop an ``HttpOnly``
    cookie set by the server. Cookies no purpose declares follow ``undeclared``.
    """

    def __init__(self, policy: ConsentPolicy, own: Iterable[str], undeclared: str) -> None:
        self.policy = policy
        self.undeclared = undeclared
        self._own = frozenset(own)
        self._required = policy.required_ids
        self.owners = lru_cache(maxsize=1024)(self._owners)

    def _owners(self, name: str) -> frozenset[str] | None:
        """The purposes that own cookie ``name``; ``None`` when none declares it."""
        owners = frozenset(p.id for p in self.policy.purposes if p.owns_cookie(name))
        return owners or None

    def verdict(self, line: str, granted: frozenset[str], now: float) -> Verdict:
        """What becomes of ``line`` for a request granted ``granted``, at Unix time ``now``."""
        name = set_cookie_name(line)
        if name in self._own:
            return Verdict.PASS
        owners = self.owners(name)
        if owners is None:
            if self.undeclared == "allow":
                return Verdict.PASS
            verdict = Verdict.BLOCKED if self.undeclared == "block" else Verdict.UNDECLARED
        elif not owners.isdisjoint(self._required):
            return Verdict.PASS
        else:
            verdict = Verdict.REFUSED if owners.isdisjoint(granted) else Verdict.GRANTED
        # Read last: most lines go out whatever their attributes say.
        return Verdict.PASS if _is_deletion(line, now) else verdict
