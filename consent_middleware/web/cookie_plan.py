"""Which cookies the middleware sets and deletes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from ..core.cookies import is_cookie_name
from ..core.exceptions import ConfigurationError
from ..core.inventory import Scope
from ..core.policy import ConsentPolicy

__all__ = ["CookieNames"]


@dataclass(frozen=True, slots=True)
class CookieNames:
    """The names of the middleware's own cookies, ``__Host-`` prefixed when secure."""

    consent: str
    csrf: str
    visit: str
    preferences: str

    @classmethod
    def of(cls, cookie_name: str, *, secure: bool) -> CookieNames:
        """The names for the ``cookie_name`` option; a bad name is a
        :class:`ConfigurationError`."""
        if not is_cookie_name(cookie_name):
            raise ConfigurationError(f"cookie_name {cookie_name!r} is not a valid cookie name")
        if cookie_name.lower().startswith(("__host-", "__secure-")):
            raise ConfigurationError(
                "cookie_name must not carry a __Host- or __Secure- prefix: it is added "
                "when secure=True"
            )
        # __Host- keeps the cookie to this host: no subdomain can set or shadow it.
        name = ("__Host-" if secure else "") + cookie_name
        return cls(name, f"{name}_csrf", f"{name}_visit", f"{name}_prefs")

    def __iter__(self) -> Iterator[str]:
        return iter((self.consent, self.csrf, self.visit, self.preferences))

    def store(self, scope: Scope) -> str:
        """The cookie that keeps the store of ``scope``."""
        return self.visit if scope is Scope.SESSION else self.preferences

    def check_unclaimed(self, policy: ConsentPolicy) -> None:
        """Refuse a policy in which an optional purpose owns one of these cookies (a
        withdrawal would delete the consent itself)."""
        for purpose in policy.purposes:
            for name in self:
                if purpose.owns_cookie(name) and not purpose.required:
                    raise ConfigurationError(
                        f"purpose {purpose.id!r} claims cookie {name!r}, which keeps the "
                        "consent itself: remove it from that purpose's cookies"
                    )
