"""Which ``Set-Cookie`` lines of an app may leave, for the purposes a request may use."""

from __future__ import annotations

from collections.abc import Iterable
from email.utils import parsedate_to_datetime
from enum import Enum
from functools import lru_cache

from .policy import ConsentPolicy

__all__ = ["UNDECLARED_COOKIES", "CookieGate", "Verdict", "set_cookie_name"]

#: What ``undeclared_cookies`` may say of a cookie that no purpose declares.
UNDECLARED_COOKIES = ("allow", "warn", "block")


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


def set_cookie_name(line: str) -> str:
    """The cookie name of a ``Set-Cookie`` line, as a browser reads it."""
    return line.partition(";")[0].partition("=")[0].strip(" \t")


def _is_deletion(line: str, now: float) -> bool:
    """Whether a ``Set-Cookie`` line removes its cookie (``Max-Age`` of zero or less, or,
    without ``Max-Age``, an ``Expires`` in the past): removing data needs no consent."""
    expires = None
    for attribute in line.split(";")[1:]:
        key, _, value = attribute.partition("=")
        key = key.strip(" \t").lower()
        if key == "max-age":
            # Max-Age wins over Expires (RFC 6265, 5.3); a malformed one is ignored.
            value = value.strip(" \t")
            if value.lstrip("-").isdigit():
                return int(value) <= 0
        elif key == "expires":
            expires = value.strip(" \t")
    if not expires:
        return False
    try:
        return parsedate_to_datetime(expires).timestamp() < now
    except (TypeError, ValueError, IndexError, OverflowError):
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
        if name in self._own or _is_deletion(line, now):
            return Verdict.PASS
        owners = self.owners(name)
        if owners is None:
            if self.undeclared == "allow":
                return Verdict.PASS
            return Verdict.BLOCKED if self.undeclared == "block" else Verdict.UNDECLARED
        if not owners.isdisjoint(self._required):
            return Verdict.PASS
        return Verdict.REFUSED if owners.isdisjoint(granted) else Verdict.GRANTED
