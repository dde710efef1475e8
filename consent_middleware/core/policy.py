"""A consent policy: the purposes and signals of one shop, under one version."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from os import PathLike
from typing import Any, TypeVar

from .exceptions import ConfigurationError
from .inventory import Purpose, Signal, SignalScope
from .policy_file import policy_arguments, read_toml

__all__ = [
    "MAX_CONSENT_LIFETIME",
    "ConsentPolicy",
    "Purpose",
    "Signal",
    "SignalScope",
]

#: Browsers cap cookies at 400 days; consent is asked again before that.
MAX_CONSENT_LIFETIME = timedelta(days=395)
DEFAULT_CONSENT_LIFETIME = timedelta(days=180)
#: Proof of consent is kept three years by default, a common limitation period.
DEFAULT_LEDGER_RETENTION = timedelta(days=3 * 365)

NECESSARY = "necessary"
SESSION_PERSONALISATION = "session_personalisation"
PERSONALISATION = "personalisation"
ANALYTICS = "analytics"
MARKETING = "marketing"

_Item = TypeVar("_Item", "Purpose", "Signal")


def _index(kind: str, items: tuple[_Item, ...], expected: type[_Item]) -> dict[str, _Item]:
    index: dict[str, _Item] = {}
    for item in items:
        if not isinstance(item, expected):
            raise ConfigurationError(
                f"policy {kind}s must be {expected.__name__} objects, not {item!r}"
            )
        if item.id in index:
            raise ConfigurationError(f"policy declares {kind} {item.id!r} twice")
        index[item.id] = item
    return index


def _fingerprint(version: str, purposes: tuple[Purpose, ...]) -> str:
    """A digest of the version and of everything that decides what a cookie grants.

    Purposes are hashed in declared order (the optional ones give the cookie's bit order)
    with every flag that decides a grant. Labels, descriptions and cookie lists are left
    out: rewording a notice keeps the shoppers' choices.
    """
    layout = [
        [p.id, p.required, p.sensitive, p.gpc_opt_out, sorted(set(p.implies))] for p in purposes
    ]
    text = json.dumps(["consent-fingerprint-2", version, layout], separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:10]


class ConsentPolicy:
    """The purposes a shop asks for and the signals it uses, under one version.

    A consent recorded under another ``version`` is not valid: the visitor is asked again.
    Consent expires after ``consent_lifetime`` (at most 395 days). The ledger keeps each
    recorded choice for ``ledger_retention`` (three years by default). Every mistake raises
    :class:`ConfigurationError` here, at start-up, never at request time.
    """

    def __init__(
        self,
        purposes: Iterable[Purpose],
        *,
        version: str,
        signals: Iterable[Signal] = (),
        consent_lifetime: timedelta = DEFAULT_CONSENT_LIFETIME,
        last_updated: date | None = None,
        ledger_retention: timedelta = DEFAULT_LEDGER_RETENTION,
    ) -> None:
        if not isinstance(version, str) or not version.strip() or len(version) > 64:
            raise ConfigurationError(
                "policy version must be a non-empty string of 64 characters at most"
            )
        if not isinstance(consent_lifetime, timedelta) or consent_lifetime <= timedelta(0):
            raise ConfigurationError("policy consent_lifetime must be a positive timedelta")
        if consent_lifetime > MAX_CONSENT_LIFETIME:
            raise ConfigurationError(
                f"policy consent_lifetime is {consent_lifetime.days} days: at most 395 days "
                "is allowed (browsers keep cookies 400 days at most)"
            )
        if not isinstance(ledger_retention, timedelta) or ledger_retention <= timedelta(0):
            raise ConfigurationError("policy ledger_retention must be a positive timedelta")
        if last_updated is not None and not isinstance(last_updated, date):
            raise ConfigurationError("policy last_updated must be a datetime.date")
        self.version = version
        self.consent_lifetime = consent_lifetime
        self.last_updated = last_updated
        #: How long the ledger keeps a consent event (the purge command applies it).
        self.ledger_retention = ledger_retention
        self.purposes: tuple[Purpose, ...] = tuple(purposes)
        self.signals: tuple[Signal, ...] = tuple(signals)
        self._purposes = _index("purpose", self.purposes, Purpose)
        self._signals = _index("signal", self.signals, Signal)
        self._validate_references()

        #: Purposes a visitor chooses, in declared order (the order of the cookie's bits).
        self.optional: tuple[Purpose, ...] = tuple(p for p in self.purposes if not p.required)
        #: What "Accept all" grants: sensitive purposes need a choice of their own.
        self.accept_all_ids: tuple[str, ...] = tuple(p.id for p in self.optional if not p.sensitive)
        self.required_ids: frozenset[str] = frozenset(p.id for p in self.purposes if p.required)
        self.gpc_opt_out_ids: frozenset[str] = frozenset(
            p.id for p in self.purposes if p.gpc_opt_out
        )
        #: Changes whenever the meaning of a consent cookie's bits could change, so that a
        #: cookie written under other rules is refused (the shopper is asked again).
        self.fingerprint = _fingerprint(version, self.purposes)

    def _validate_references(self) -> None:
        for purpose in self.purposes:
            for implied in purpose.implies:
                if implied not in self._purposes:
                    raise ConfigurationError(
                        f"purpose {purpose.id!r} implies unknown purpose {implied!r}"
                    )
                if implied == purpose.id:
                    raise ConfigurationError(f"purpose {purpose.id!r} implies itself")
                if self._purposes[implied].sensitive:
                    raise ConfigurationError(
                        f"purpose {purpose.id!r} implies sensitive purpose {implied!r}: a "
                        "sensitive purpose must be granted on its own"
                    )
        for signal in self.signals:
            where = f"signal {signal.id!r}"
            owner = self._purposes.get(signal.purpose)
            if owner is None:
                raise ConfigurationError(
                    f"{where} uses unknown purpose {signal.purpose!r}; declared purposes: "
                    f"{', '.join(self._purposes)}"
                )
            if owner.required:
                raise ConfigurationError(
                    f"{where} uses required purpose {owner.id!r}: personal signals need a "
                    "purpose the visitor can refuse"
                )
            if signal.sensitive and not owner.sensitive:
                raise ConfigurationError(
                    f"{where} is sensitive, so it needs a purpose of its own declared "
                    f"sensitive=True, not the general purpose {owner.id!r}"
                )

    @classmethod
    def default(cls, *, version: str = "1", signals: Iterable[Signal] = ()) -> ConsentPolicy:
        """The five standard purposes: necessary, session_personalisation, personalisation,
        analytics and marketing (off whenever the browser sends GPC)."""
        return cls(
            [
                Purpose(
                    NECESSARY,
                    "Strictly necessary",
                    "Keeps your basket, keeps the shop secure and remembers these choices. "
                    "Always on.",
                    required=True,
                ),
                Purpose(
                    SESSION_PERSONALISATION,
                    "Tailor this visit",
                    "Suggest products from what you look at during this visit. "
                    "Forgotten when you leave.",
                ),
                Purpose(
                    PERSONALISATION,
                    "Remember my preferences",
                    "Use the preferences you tell us and what you viewed on earlier visits "
                    "to suggest products across visits. Includes tailoring this visit.",
                    implies=(SESSION_PERSONALISATION,),
                ),
                Purpose(
                    ANALYTICS,
                    "Measure how the shop is used",
                    "Count visits and clicks so we can improve the shop. "
                    "Never used to pick what you see.",
                ),
                Purpose(
                    MARKETING,
                    "Personalised offers and advertising",
                    "Show offers and adverts chosen for you, here and on other sites. "
                    "Always off when your browser sends Global Privacy Control.",
                    gpc_opt_out=True,
                ),
            ],
            version=version,
            signals=signals,
            last_updated=date(2026, 11, 29),
        )

    @classmethod
    def from_toml(cls, path: str | PathLike[str]) -> ConsentPolicy:
        """Load a policy from a TOML file; see ``examples/policy.toml`` for the format.

        Every problem, a missing file and bad TOML included, is a :class:`ConfigurationError`
        naming the file and the field.
        """
        data = read_toml(path)
        try:
            return cls.from_mapping(data)
        except ConfigurationError as e:
            raise ConfigurationError(f"policy file {str(path)!r}: {e}") from e

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> ConsentPolicy:
        """Build a policy from plain data, in the shape of the TOML file."""
        purposes, arguments = policy_arguments(data)
        return cls(purposes, **arguments)

    def signals_of(self, purpose_id: str) -> tuple[Signal, ...]:
        """The signals that use ``purpose_id``, most influential first."""
        return tuple(s for s in self.signals if s.purpose == purpose_id)

    def purpose(self, purpose_id: str) -> Purpose:
        """The declared purpose with this id; ``KeyError`` if there is none."""
        return self._purposes[purpose_id]

    def signal(self, signal_id: str) -> Signal:
        """The declared signal with this id; ``KeyError`` if there is none."""
        return self._signals[signal_id]

    def __contains__(self, purpose_id: object) -> bool:
        return purpose_id in self._purposes

    def grant(self, purpose_ids: Iterable[str]) -> frozenset[str]:
        """The purposes granted by choosing ``purpose_ids``: with what they imply and the
        required ones. Unknown ids are ignored (they come from forms)."""
        granted = set(self.required_ids)
        pending = [pid for pid in purpose_ids if pid in self._purposes]
        while pending:
            pid = pending.pop()
            if pid not in granted:
                granted.add(pid)
                pending.extend(self._purposes[pid].implies)
        return frozenset(granted)

    def __repr__(self) -> str:
        ids = ", ".join(p.id for p in self.purposes)
        return f"<ConsentPolicy version={self.version!r} purposes=[{ids}]>"
