"""Which cookies the middleware sets and deletes: its own cookies' names, the consent and
form cookies, the visitor store cookies, and what a withdrawal or an erasure deletes."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from ..core.codec import ConsentCookieCodec, ConsentState
from ..core.cookies import cookie_names, delete_cookie, is_cookie_name, set_cookie
from ..core.exceptions import ConfigurationError
from ..core.inventory import SignalScope
from ..core.policy import MAX_CONSENT_LIFETIME, ConsentPolicy

__all__ = ["CookieNames", "CookiePlan"]


@dataclass(frozen=True, slots=True)
class CookieNames:
    """The names of the middleware's own cookies, ``__Host-`` prefixed when secure."""

    consent: str
    csrf: str
    visit: str
    preferences: str
    #: The signals the shopper switched off.
    signals: str = ""
    #: Personalisation paused for this visit.
    pause: str = ""

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
        return cls(
            name,
            f"{name}_csrf",
            f"{name}_visit",
            f"{name}_prefs",
            f"{name}_signals",
            f"{name}_pause",
        )

    def __iter__(self) -> Iterator[str]:
        return iter(
            (self.consent, self.csrf, self.visit, self.preferences, self.signals, self.pause)
        )

    def store(self, scope: SignalScope) -> str:
        """The cookie that keeps the store of ``scope``."""
        return self.visit if scope is SignalScope.SESSION else self.preferences

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


class CookiePlan:
    """The ``Set-Cookie`` lines for a decision, a form, a store, a withdrawal or an
    erasure."""

    def __init__(
        self,
        policy: ConsentPolicy,
        codec: ConsentCookieCodec,
        names: CookieNames,
        *,
        secure: bool,
        domains: Iterable[str] = (),
    ) -> None:
        self.policy = policy
        self.codec = codec
        self.names = names
        self.secure = secure
        #: Where third-party tags set their cookies: deletions are repeated there.
        self.domains = tuple(domains)
        self._lifetime = int(policy.consent_lifetime.total_seconds())
        # Preferences last as long as the longest retention declared (395 days at most).
        retentions = [s.retention for s in policy.signals if s.retention is not None]
        longest = max(retentions, default=policy.consent_lifetime)
        self._preferences_max_age = int(min(longest, MAX_CONSENT_LIFETIME).total_seconds())

    def consent_cookie(self, state: ConsentState) -> str:
        """The consent cookie for ``state``, expiring with the decision."""
        remaining = self._lifetime - max(0, int(time.time()) - state.decided_at)
        return set_cookie(
            self.names.consent,
            self.codec.encode(state),
            max_age=max(remaining, 0),
            secure=self.secure,
        )

    def csrf_cookie(self, nonce: str) -> str:
        """The cookie that keeps this browser's form nonce, for the visit."""
        return set_cookie(self.names.csrf, nonce, max_age=None, secure=self.secure)

    def store_cookie(self, scope: SignalScope, value: str | None) -> str:
        """The cookie keeping a store's sealed ``value``; ``None`` deletes it."""
        name = self.names.store(scope)
        if value is None:
            return delete_cookie(name, secure=self.secure)
        max_age = None if scope is SignalScope.SESSION else self._preferences_max_age
        return set_cookie(name, value, max_age=max_age, secure=self.secure)

    def signals_cookie(self, value: str | None) -> str:
        """The cookie keeping the signals a shopper switched off (sealed ``value``), as long
        as a decision lasts; ``None`` deletes it."""
        if value is None:
            return delete_cookie(self.names.signals, secure=self.secure)
        return set_cookie(self.names.signals, value, max_age=self._lifetime, secure=self.secure)

    def pause_cookie(self, paused: bool) -> str:
        """The cookie that pauses personalisation until the browser session ends (a session
        cookie), or its deletion."""
        if not paused:
            return delete_cookie(self.names.pause, secure=self.secure)
        return set_cookie(self.names.pause, "1", max_age=None, secure=self.secure)

    def purpose_cookie_deletions(self, cookie_header: str, granted: frozenset[str]) -> list[str]:
        """``Set-Cookie`` lines deleting the cookies sent that only ungranted purposes own,
        on this host and on every ``cookie_domains`` entry."""
        deletions = []
        for name in sorted(cookie_names(cookie_header)):
            if self.withdrawn_cookie(name, granted):
                deletions.append(delete_cookie(name, secure=self.secure))
                for domain in self.domains:
                    deletions.append(delete_cookie(name, secure=self.secure, domain=domain))
        return deletions

    def withdrawn_cookie(self, name: str, granted: frozenset[str]) -> bool:
        """Whether cookie ``name`` belongs only to purposes outside ``granted``."""
        owners = [p.id for p in self.policy.purposes if p.owns_cookie(name)]
        return bool(owners) and all(owner not in granted for owner in owners)

    def erasure_cookies(self, cookie_header: str) -> list[str]:
        """Deletions of every cookie sent that keeps something of this browser: the
        consent and its stores, and the cookies of optional purposes."""
        present = cookie_names(cookie_header)
        ours = (
            self.names.consent,
            self.names.visit,
            self.names.preferences,
            self.names.signals,
            self.names.pause,
        )
        deletions = [delete_cookie(name, secure=self.secure) for name in ours if name in present]
        return deletions + self.purpose_cookie_deletions(cookie_header, self.policy.required_ids)
