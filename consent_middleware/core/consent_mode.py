"""Google Consent Mode v2: the state Google's tags read, from the purposes granted."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping

from .exceptions import ConfigurationError, ConsentError
from .policy import ANALYTICS, MARKETING, PERSONALISATION, SESSION_PERSONALISATION, ConsentPolicy

__all__ = ["CONSENT_MODE_KEYS", "DEFAULT_CONSENT_MODE", "ConsentMode"]

#: The seven keys of Consent Mode v2, each ``'granted'`` or ``'denied'``.
CONSENT_MODE_KEYS = (
    "ad_storage",
    "ad_user_data",
    "ad_personalization",
    "analytics_storage",
    "functionality_storage",
    "personalization_storage",
    "security_storage",
)
#: Which purposes each key needs (all of them): ``()`` is always granted, ``None`` never.
DEFAULT_CONSENT_MODE: Mapping[str, tuple[str, ...] | None] = {
    "ad_storage": (MARKETING,),
    "ad_user_data": (MARKETING,),
    "ad_personalization": (MARKETING,),
    "analytics_storage": (ANALYTICS,),
    # Storage for this visit's features: guest mode allows it, and personalisation implies it.
    "functionality_storage": (SESSION_PERSONALISATION,),
    # Storage that personalises across visits.
    "personalization_storage": (PERSONALISATION,),
    # Security and fraud prevention: strictly necessary.
    "security_storage": (),
}
# ISO 3166-1 alpha-2, or ISO 3166-2 (a country and a subdivision), as Google takes them.
_REGION = re.compile(r"[A-Z]{2}(-[A-Z0-9]{1,3})?\Z")
_MAX_WAIT = 60_000
_GRANTED, _DENIED = "granted", "denied"
# Tags pushed before gtag.js loads wait in dataLayer; gtag must push ``arguments`` itself.
_PRELUDE = (
    "window.dataLayer=window.dataLayer||[];"
    "window.gtag=window.gtag||function(){window.dataLayer.push(arguments);};"
)


def _script_json(value: object) -> str:
    """JSON that stays inert inside ``<script>``: no ``<``, ``>`` or ``&`` left as is."""
    text = json.dumps(value, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


class ConsentMode:
    """How the purposes granted become Google Consent Mode v2 states, and the calls that
    tell the tags.

    ``mapping`` changes the default's keys: a purpose id, a list of them (all needed; an
    empty list is always granted) or ``None`` (always denied). The default: ``marketing``
    drives ``ad_storage``, ``ad_user_data`` and ``ad_personalization``; ``analytics``
    drives ``analytics_storage``; ``session_personalisation`` drives
    ``functionality_storage`` and ``personalisation`` drives ``personalization_storage``;
    ``security_storage`` is always granted. ``wait_for_update`` is how long (ms) tags wait
    for an update before reading the default; ``regions`` (``["DE", "US-CA"]``) limits the
    default to those regions. Mistakes raise :class:`ConfigurationError`.
    """

    def __init__(
        self,
        mapping: Mapping[str, str | Iterable[str] | None] | None = None,
        *,
        wait_for_update: int = 500,
        regions: Iterable[str] = (),
    ) -> None:
        needs: dict[str, tuple[str, ...] | None] = dict(DEFAULT_CONSENT_MODE)
        given: set[str] = set()
        if mapping is not None:
            if not isinstance(mapping, Mapping):
                raise ConfigurationError(
                    "the consent mode mapping must be a mapping of Consent Mode keys to "
                    "purpose ids, e.g. {'analytics_storage': 'analytics'}"
                )
            for key, purposes in mapping.items():
                needs[key] = self._needs(key, purposes)
                given.update(needs[key] or ())
        if type(wait_for_update) is not int or not 0 <= wait_for_update <= _MAX_WAIT:
            raise ConfigurationError(
                f"wait_for_update={wait_for_update!r}: give milliseconds from 0 to "
                f"{_MAX_WAIT}, e.g. 500"
            )
        if isinstance(regions, str) or not isinstance(regions, Iterable):
            raise ConfigurationError("regions must be a list of region codes, e.g. ['DE', 'FR']")
        listed = list(regions)
        for region in listed:
            if not isinstance(region, str) or not _REGION.match(region):
                raise ConfigurationError(
                    f"region {region!r} is not an ISO 3166 code such as 'DE' or 'US-CA'"
                )
        #: Each key's purposes (all needed), ``()`` always granted, ``None`` never.
        self.needs: Mapping[str, tuple[str, ...] | None] = needs
        self.wait_for_update = wait_for_update
        self.regions = tuple(listed)
        self._given = frozenset(given)

    @staticmethod
    def _needs(key: object, purposes: object) -> tuple[str, ...] | None:
        if key not in CONSENT_MODE_KEYS:
            raise ConfigurationError(
                f"{key!r} is not a Consent Mode key: use {', '.join(CONSENT_MODE_KEYS)}"
            )
        if purposes is None:
            return None
        ids = [purposes] if isinstance(purposes, str) else purposes
        if not isinstance(ids, Iterable) or not all(isinstance(p, str) and p for p in ids):
            raise ConfigurationError(
                f"the consent mode mapping gives {key!r} {purposes!r}: give a purpose id, a "
                "list of them ([] for always granted) or None (always denied)"
            )
        return tuple(ids)

    def states(self, granted: frozenset[str], policy: ConsentPolicy) -> dict[str, str]:
        """Each key's state under ``granted``.

        A purpose of a given mapping that ``policy`` does not declare raises
        :class:`ConsentError`, as ``ctx.allows()`` does, so a typo cannot deny (or grant)
        silently; the default's purposes that the policy lacks are simply never granted.
        """
        self._check(policy)
        return {
            key: _GRANTED if needs is not None and granted.issuperset(needs) else _DENIED
            for key, needs in self.needs.items()
        }

    def _check(self, policy: ConsentPolicy) -> None:
        for purpose_id in self._given:
            if purpose_id not in policy:
                declared = ", ".join(p.id for p in policy.purposes)
                raise ConsentError(
                    f"the consent mode mapping names unknown purpose {purpose_id!r}; the "
                    f"policy declares: {declared}"
                )

    def commands(self, granted: frozenset[str], policy: ConsentPolicy, *, decided: bool) -> str:
        """The JavaScript for a page's ``<script>``: ``dataLayer`` and ``gtag`` where
        missing, the ``default`` call (every key denied but those always granted) and, once
        the visitor has decided, the ``update`` call with the states ``granted`` gives."""
        self._check(policy)
        default: dict[str, object] = {
            key: _GRANTED if needs == () else _DENIED for key, needs in self.needs.items()
        }
        default["wait_for_update"] = self.wait_for_update
        if self.regions:
            default["region"] = list(self.regions)
        calls = [_PRELUDE, f'gtag("consent","default",{_script_json(default)});']
        if decided:
            calls.append(f'gtag("consent","update",{_script_json(self.states(granted, policy))});')
        return "".join(calls)

    def __repr__(self) -> str:
        return (
            f"ConsentMode({dict(self.needs)!r}, wait_for_update={self.wait_for_update!r}, "
            f"regions={list(self.regions)!r})"
        )
