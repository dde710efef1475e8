"""The signals a shopper switched off ("Don't use this"), kept in a sealed cookie.

The cookie holds only signal ids, sealed (:class:`Sealer`) and bound to the consent id of the
browser that chose: copied into another browser, or read under another consent, it holds
nothing. The ledger keeps the proof of each choice; the cookie is what every request reads.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import lru_cache

from .policy import ConsentPolicy
from .sealing import Sealer

__all__ = ["StopCodec"]

_NONE: frozenset[str] = frozenset()


class StopCodec:
    """Reads and writes the set of stopped signals; never raises on bad input."""

    def __init__(self, policy: ConsentPolicy, keys: list[bytes]) -> None:
        self._sealer = Sealer(keys, "signals")
        self._declared = frozenset(s.id for s in policy.signals)
        # A browser sends the same cookie on every request: it is opened once.
        self.decode = lru_cache(maxsize=1024)(self._decode)

    def encode(self, stopped: Iterable[str], consent_id: str) -> str | None:
        """The sealed cookie value for ``stopped``, or ``None`` when nothing is stopped
        (the cookie is then deleted)."""
        ids = sorted(set(stopped) & self._declared)
        if not ids:
            return None
        data = json.dumps({"stopped": ids}, separators=(",", ":")).encode()
        return self._sealer.seal(data, _bound_to(consent_id))

    def _decode(self, value: str, consent_id: str) -> frozenset[str]:
        """The declared signals stopped in ``value`` under ``consent_id``; anything
        invalid, foreign or bound to another consent holds none."""
        opened = self._sealer.open(value, _bound_to(consent_id))
        if opened is None:
            return _NONE
        try:
            ids = json.loads(opened)["stopped"]
        except (ValueError, KeyError, TypeError, UnicodeError):
            return _NONE
        if not isinstance(ids, list):
            return _NONE
        return frozenset(i for i in ids if isinstance(i, str) and i in self._declared)


def _bound_to(consent_id: str) -> bytes:
    return f"signals\n{consent_id}".encode()
