"""Saving a visitor's stores: sealed into their cookies, or preferences into the host's
backend."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from ..core.codec import ConsentState
from ..core.inventory import SignalScope
from ..core.modes import mode_for
from ..core.policy import ConsentPolicy
from ..core.reasons import refusal
from ..core.stores import PreferenceBackend, StoreCodec, StoredData, pack
from .cookie_plan import CookiePlan

__all__ = ["StoreWriter"]

logger = logging.getLogger("consent_middleware")


class StoreWriter:
    """Writes the visit and preference stores of one browser."""

    def __init__(
        self,
        policy: ConsentPolicy,
        keys: list[bytes],
        cookies: CookiePlan,
        *,
        visit_lifetime: timedelta,
        backend: PreferenceBackend | None = None,
    ) -> None:
        #: The codec of each store's cookie (reading uses the same).
        self.codecs = {
            SignalScope.SESSION: StoreCodec(
                policy, keys, SignalScope.SESSION, lifetime=visit_lifetime
            ),
            SignalScope.PERSISTENT: StoreCodec(policy, keys, SignalScope.PERSISTENT),
        }
        self.policy = policy
        self.cookies = cookies
        #: Keeps preferences server-side instead of in a cookie, when set.
        self.backend = backend

    def save(self, scope: SignalScope, data: StoredData, consent_id: str | None) -> list[str]:
        """``Set-Cookie`` lines (or a backend write) that store ``data`` for a visitor.

        Stored data is bound to ``consent_id``; without one (no decision, so nothing could
        have been allowed) the store is deleted instead.
        """
        if scope is SignalScope.PERSISTENT and self.backend is not None:
            if consent_id is not None:
                try:
                    if data:
                        self.backend.save(consent_id, pack(data))
                    else:
                        self.backend.delete(consent_id)
                except Exception:
                    logger.exception("preferences could not be saved")
            return []
        if not data or consent_id is None:
            return [self.cookies.store_cookie(scope, None)]
        value = self.codecs[scope].encode(data, consent_id)
        return [self.cookies.store_cookie(scope, value)]

    def prune(
        self, state: ConsentState, stored: Callable[[SignalScope], tuple[StoredData, bool]]
    ) -> list[str]:
        """Rewrite each store (as ``stored`` reads it) without the signals that ``state``
        does not allow, and without values that were stale."""
        mode = mode_for(state.granted)
        lines = []
        for scope in (SignalScope.SESSION, SignalScope.PERSISTENT):
            data, stale = stored(scope)
            allowed = {
                key: entries
                for key, entries in data.items()
                if refusal(self.policy.signal(key), state.granted, mode) is None
            }
            if allowed != data or stale:
                lines.extend(self.save(scope, allowed, state.consent_id))
        return lines
