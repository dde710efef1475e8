"""The declared inventory: purposes a visitor can grant and the signals that use them."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from os import PathLike
from typing import Any, TypeVar

from .exceptions import ConfigurationError

__all__ = [
    "MAX_CONSENT_LIFETIME",
    "ConsentPolicy",
    "Purpose",
    "Scope",
    "Signal",
]

#: Browsers cap cookies at 400 days; consent is asked again before that.
MAX_CONSENT_LIFETIME = timedelta(days=395)
DEFAULT_CONSENT_LIFETIME = timedelta(days=180)

NECESSARY = "necessary"
SESSION_PERSONALISATION = "session_personalisation"
PERSONALISATION = "personalisation"
ANALYTICS = "analytics"
MARKETING = "marketing"

_ID = re.compile(r"[a-z][a-z0-9_]{0,63}\Z")
# RFC 6265 cookie-name token characters; a trailing "*" marks a prefix.
_COOKIE_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\*?\Z")


def _check_id(kind: str, value: object) -> str:
    if not isinstance(value, str) or not _ID.match(value):
        raise ConfigurationError(
            f"{kind} id {value!r} is invalid: use 1-64 characters of a-z, 0-9 and '_', "
            "starting with a letter"
        )
    return value


def _check_text(where: str, name: str, value: object, *, required: bool = True) -> str:
    if not isinstance(value, str) or (required and not value.strip()):
        raise ConfigurationError(f"{where}: {name} must be a non-empty string")
    return value


def _as_tuple(where: str, name: str, value: object) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ConfigurationError(f"{where}: {name} must be a list of strings, not {value!r}")
    items = tuple(value)
    for item in items:
        if not isinstance(item, str):
            raise ConfigurationError(f"{where}: {name} must hold strings, not {item!r}")
    return items


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


class Scope(StrEnum):
    """How long a signal lives: this visit only, or across visits."""

    SESSION = "session"
    PERSISTENT = "persistent"


@dataclass(frozen=True, slots=True)
class Purpose:
    """A reason for using data that a visitor grants or refuses on its own.

    ``cookies`` lists the cookies that belong to the purpose (exact names, or prefixes ending
    in ``*``); they are deleted in the response that withdraws the purpose. A ``required``
    purpose is always granted and cannot be refused, so it cannot be switched off by GPC.
    ``sensitive`` marks a purpose that exists only for special-category data (health,
    finances, ...): signals flagged sensitive must use such a purpose.
    """

    id: str
    label: str
    description: str = ""
    required: bool = False
    implies: tuple[str, ...] = ()
    cookies: tuple[str, ...] = ()
    gpc_opt_out: bool = False
    sensitive: bool = False

    def __post_init__(self) -> None:
        _check_id("purpose", self.id)
        where = f"purpose {self.id!r}"
        _check_text(where, "label", self.label)
        _check_text(where, "description", self.description, required=False)
        object.__setattr__(self, "implies", _as_tuple(where, "implies", self.implies))
        object.__setattr__(self, "cookies", _as_tuple(where, "cookies", self.cookies))
        for name in self.cookies:
            if not _COOKIE_NAME.match(name):
                raise ConfigurationError(
                    f"{where}: cookie {name!r} is not a valid cookie name "
                    "(a name, or a prefix ending in '*')"
                )
        if self.required and self.gpc_opt_out:
            raise ConfigurationError(
                f"{where} is required, so it cannot be refused: drop gpc_opt_out or make it "
                "optional"
            )
        if self.required and self.sensitive:
            raise ConfigurationError(
                f"{where} is sensitive, so it needs explicit consent: it cannot be required"
            )

    def owns_cookie(self, name: str) -> bool:
        """Whether a cookie of this name belongs to the purpose."""
        for pattern in self.cookies:
            if pattern.endswith("*"):
                if name.startswith(pattern[:-1]):
                    return True
            elif name == pattern:
                return True
        return False


@dataclass(frozen=True, slots=True)
class Signal:
    """A piece of data that personalisation may use, under one purpose.

    ``scope`` is ``"session"`` (this visit only, forgotten when it ends) or ``"persistent"``
    (kept across visits, for ``retention``). ``sensitive`` signals (health, finances, ...)
    must belong to a purpose declared ``sensitive``, never to a general one.
    """

    id: str
    label: str
    purpose: str
    scope: Scope = Scope.SESSION
    retention: timedelta | None = None
    sensitive: bool = False
    description: str = ""

    def __post_init__(self) -> None:
        _check_id("signal", self.id)
        where = f"signal {self.id!r}"
        _check_text(where, "label", self.label)
        _check_text(where, "description", self.description, required=False)
        _check_id("purpose", self.purpose)
        try:
            object.__setattr__(self, "scope", Scope(self.scope))
        except ValueError:
            raise ConfigurationError(
                f"{where}: scope must be 'session' or 'persistent', not {self.scope!r}"
            ) from None
        if self.retention is not None and (
            not isinstance(self.retention, timedelta) or self.retention <= timedelta(0)
        ):
            raise ConfigurationError(f"{where}: retention must be a positive timedelta")
        if self.scope is Scope.PERSISTENT and self.retention is None:
            raise ConfigurationError(
                f"{where} is persistent, so it needs a retention (how long it is kept)"
            )


class ConsentPolicy:
    """The purposes a shop asks for and the signals it uses, under one version.

    A consent recorded under another ``version`` is not valid: the visitor is asked again.
    Consent expires after ``consent_lifetime`` (at most 395 days). Every mistake raises
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
        if last_updated is not None and not isinstance(last_updated, date):
            raise ConfigurationError("policy last_updated must be a datetime.date")
        self.version = version
        self.consent_lifetime = consent_lifetime
        self.last_updated = last_updated
        self.purposes: tuple[Purpose, ...] = tuple(purposes)
        self.signals: tuple[Signal, ...] = tuple(signals)
        self._purposes = _index("purpose", self.purposes, Purpose)
        self._signals = _index("signal", self.signals, Signal)
        self._validate_references()

        #: Purposes a visitor chooses, in declared order (the order of the cookie's bits).
        self.optional: tuple[Purpose, ...] = tuple(p for p in self.purposes if not p.required)
        self.required_ids: frozenset[str] = frozenset(p.id for p in self.purposes if p.required)
        self.gpc_opt_out_ids: frozenset[str] = frozenset(
            p.id for p in self.purposes if p.gpc_opt_out
        )
        # Changes whenever the version or the purposes change, so that a consent cookie
        # written under other purposes is never read as if it were written under these.
        digest = hashlib.sha256(
            "\0".join([version, *(p.id for p in self.purposes)]).encode()
        ).hexdigest()
        self.fingerprint = digest[:10]

    def _validate_references(self) -> None:
        for purpose in self.purposes:
            for implied in purpose.implies:
                if implied not in self._purposes:
                    raise ConfigurationError(
                        f"purpose {purpose.id!r} implies unknown purpose {implied!r}"
                    )
                if implied == purpose.id:
                    raise ConfigurationError(f"purpose {purpose.id!r} implies itself")
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
        """Load a policy from a TOML file; see ``examples/policy.toml`` for the format."""
        from .policy_toml import load_policy

        return load_policy(path)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> ConsentPolicy:
        """Build a policy from plain data, in the shape of the TOML file."""
        from .policy_toml import policy_from_mapping

        return policy_from_mapping(data)

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
