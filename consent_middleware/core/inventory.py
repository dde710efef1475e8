"""The declared inventory: purposes a visitor can grant, the signals that use them, and the
segments (broad interest groups) built from signals."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum

from .cookies import bare_cookie_name, is_cookie_name
from .exceptions import ConfigurationError
from .texts import check_text, text_for

__all__ = ["GRANULARITIES", "SEGMENT", "SIGNAL", "Purpose", "Segment", "Signal", "SignalScope"]

#: A purpose's granularity: the app reads each signal's values.
SIGNAL = "signal"
#: A purpose's granularity: the app reads only the segments its signals make.
SEGMENT = "segment"
GRANULARITIES = (SIGNAL, SEGMENT)

_ID = re.compile(r"[a-z][a-z0-9_]{0,63}\Z")


def _check_id(kind: str, value: object) -> str:
    if not isinstance(value, str) or not _ID.match(value):
        raise ConfigurationError(
            f"{kind} id {value!r} is invalid: use 1-64 characters of a-z, 0-9 and '_', "
            "starting with a letter"
        )
    return value


def _as_tuple(where: str, name: str, value: object) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ConfigurationError(f"{where}: {name} must be a list of strings, not {value!r}")
    items = tuple(value)
    for item in items:
        if not isinstance(item, str):
            raise ConfigurationError(f"{where}: {name} must hold strings, not {item!r}")
    return items


class SignalScope(StrEnum):
    """How long a signal lives: this visit only, or across visits.

    Formerly ``Scope``, a name that ASGI already gives the request's dict.
    """

    SESSION = "session"
    PERSISTENT = "persistent"


@dataclass(frozen=True, slots=True)
class Purpose:
    """A reason for using data that a visitor grants or refuses on its own.

    ``cookies`` lists the cookies that belong to the purpose (exact names, or prefixes ending
    in ``*``; each also covers its ``__Secure-`` and ``__Host-`` variants); they are deleted
    in the response that withdraws the purpose. A ``required`` purpose is always granted and
    cannot be refused, so it cannot be switched off by GPC.
    ``sensitive`` marks a purpose that exists only for special-category data (health,
    finances, ...): signals flagged sensitive must use such a purpose. ``granularity`` is
    ``"signal"`` (the app reads each signal's values) or ``"segment"`` (the app gets only the
    segments its signals make: broad interests, never the values themselves).

    ``label`` and ``description`` are a string, or one text per language
    (``{"en": "Personalisation", "de": "Personalisierung"}``); either way they read as a
    string, the first text given, and :meth:`label_for` gives the text for a language.
    ``opt_out_allowed`` lets the purpose start granted, before any choice, where the
    visitor's region follows the ``opt_out`` or ``notice`` rule set; it stays opt-in
    everywhere else, and a sensitive purpose is always opt-in.
    ``version`` is the purpose's own: changing it (or adding a purpose) asks shoppers about
    this purpose alone, keeping their other choices; the policy's ``version`` asks again
    about everything.
    """

    id: str
    label: str | Mapping[str, str]
    description: str | Mapping[str, str] = ""
    required: bool = False
    implies: tuple[str, ...] = ()
    cookies: tuple[str, ...] = ()
    gpc_opt_out: bool = False
    sensitive: bool = False
    opt_out_allowed: bool = False
    version: str | None = None
    granularity: str = SIGNAL

    def __post_init__(self) -> None:
        _check_id("purpose", self.id)
        where = f"purpose {self.id!r}"
        if self.granularity not in GRANULARITIES:
            raise ConfigurationError(
                f"{where}: granularity must be 'signal' or 'segment', not {self.granularity!r}"
            )
        object.__setattr__(self, "label", check_text(where, "label", self.label))
        object.__setattr__(
            self, "description", check_text(where, "description", self.description, required=False)
        )
        object.__setattr__(self, "implies", _as_tuple(where, "implies", self.implies))
        object.__setattr__(self, "cookies", _as_tuple(where, "cookies", self.cookies))
        for name in self.cookies:
            if not is_cookie_name(name.removesuffix("*")):
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
        if self.version is not None and (
            not isinstance(self.version, str) or not self.version.strip() or len(self.version) > 64
        ):
            raise ConfigurationError(
                f"{where}: version must be a non-empty string of 64 characters at most, "
                f"such as '2', not {self.version!r}"
            )
        if self.opt_out_allowed and self.sensitive:
            raise ConfigurationError(
                f"{where} is sensitive, so it is always opt-in: drop opt_out_allowed"
            )
        if self.opt_out_allowed and self.required:
            raise ConfigurationError(
                f"{where} is required, so it is always granted: drop opt_out_allowed"
            )

    def label_for(self, language: str, fallback: str | None = None) -> str:
        """The label in ``language``, else in ``fallback`` (the shop's first language), else
        the first text given; a plain string label in every language."""
        return text_for(self.label, language, fallback)

    def description_for(self, language: str, fallback: str | None = None) -> str:
        """The description in ``language``, chosen as :meth:`label_for` chooses."""
        return text_for(self.description, language, fallback)

    def owns_cookie(self, name: str) -> bool:
        """Whether a cookie of this name belongs to the purpose: a declared name or prefix,
        matched case-sensitively as browsers match names, with or without a ``__Secure-``
        or ``__Host-`` prefix (``__Host-_ga`` belongs to the purpose that declares ``_ga``)."""
        if self._owns(name):
            return True
        bare = bare_cookie_name(name)
        return bare != name and self._owns(bare)

    def _owns(self, name: str) -> bool:
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

    ``scope`` is a :class:`SignalScope` or its value: ``"session"`` (this visit only,
    forgotten when it ends) or ``"persistent"`` (kept across visits, for ``retention``).
    ``sensitive`` signals (health, finances, ...) must belong to a purpose declared
    ``sensitive``, never to a general one. ``weight`` is the signal's relative importance
    when suggestions are chosen (a positive number, 1 unless said), and ``weight_reason`` says
    why, in plain words: shoppers are shown the signals by weight, with both (DSA art. 27).
    Signals of equal weight keep their declared order. ``label``, ``description`` and
    ``weight_reason`` may be given per language, as a purpose's texts are.
    """

    id: str
    label: str | Mapping[str, str]
    purpose: str
    scope: SignalScope = SignalScope.SESSION
    retention: timedelta | None = None
    sensitive: bool = False
    description: str | Mapping[str, str] = ""
    #: Values a shopper may state for this signal in the preference centre.
    choices: tuple[str, ...] = ()
    #: How much the signal counts when suggestions are chosen, against the others.
    weight: float = 1.0
    #: Why it counts that much, for shoppers.
    weight_reason: str | Mapping[str, str] = ""

    def __post_init__(self) -> None:
        _check_id("signal", self.id)
        where = f"signal {self.id!r}"
        weight = self.weight
        if (
            isinstance(weight, bool)
            or not isinstance(weight, int | float)
            or not 0 < weight < math.inf
        ):
            raise ConfigurationError(
                f"{where}: weight must be a positive number (its importance against the other "
                f"signals), not {weight!r}"
            )
        object.__setattr__(
            self,
            "weight_reason",
            check_text(where, "weight_reason", self.weight_reason, required=False),
        )
        object.__setattr__(self, "label", check_text(where, "label", self.label))
        object.__setattr__(
            self, "description", check_text(where, "description", self.description, required=False)
        )
        _check_id("purpose", self.purpose)
        try:
            object.__setattr__(self, "scope", SignalScope(self.scope))
        except ValueError:
            raise ConfigurationError(
                f"{where}: scope must be 'session' or 'persistent', not {self.scope!r}"
            ) from None
        if self.retention is not None and (
            not isinstance(self.retention, timedelta) or self.retention <= timedelta(0)
        ):
            raise ConfigurationError(f"{where}: retention must be a positive timedelta")
        object.__setattr__(self, "choices", _as_tuple(where, "choices", self.choices))
        if self.choices and self.scope is not SignalScope.PERSISTENT:
            raise ConfigurationError(
                f"{where} has choices, which shoppers state to be remembered: make it "
                "persistent (with a retention)"
            )
        if self.scope is SignalScope.PERSISTENT and self.retention is None:
            raise ConfigurationError(
                f"{where} is kept across visits with no retention: say how long it is kept "
                "(retention, or retention_days in a policy file)"
            )

    def label_for(self, language: str, fallback: str | None = None) -> str:
        """The label in ``language``, else in ``fallback`` (the shop's first language), else
        the first text given; a plain string label in every language."""
        return text_for(self.label, language, fallback)

    def description_for(self, language: str, fallback: str | None = None) -> str:
        """The description in ``language``, chosen as :meth:`label_for` chooses."""
        return text_for(self.description, language, fallback)

    def weight_reason_for(self, language: str, fallback: str | None = None) -> str:
        """Why the signal weighs what it does, in ``language``, chosen as :meth:`label_for`
        chooses."""
        return text_for(self.weight_reason, language, fallback)


@dataclass(frozen=True, slots=True)
class Segment:
    """A broad interest group built from signals, used instead of single values.

    ``label`` names the interest as shoppers read it, completing "Because you seem to like
    ..." ("tea"). The segment applies once at least ``minimum`` of its ``values`` (product
    ids, categories, ...) are held by its ``signals``, counted together. ``label`` and
    ``description`` may be given per language, as a purpose's are.
    """

    id: str
    label: str | Mapping[str, str]
    signals: tuple[str, ...]
    values: tuple[str, ...]
    minimum: int = 2
    description: str | Mapping[str, str] = ""
    _members: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check_id("segment", self.id)
        where = f"segment {self.id!r}"
        object.__setattr__(self, "label", check_text(where, "label", self.label))
        object.__setattr__(
            self, "description", check_text(where, "description", self.description, required=False)
        )
        object.__setattr__(self, "signals", _as_tuple(where, "signals", self.signals))
        object.__setattr__(self, "values", _as_tuple(where, "values", self.values))
        if not self.signals:
            raise ConfigurationError(f"{where} needs the signals it is built from")
        if not self.values:
            raise ConfigurationError(f"{where} needs the values that count towards it")
        minimum = self.minimum
        if isinstance(minimum, bool) or not isinstance(minimum, int) or minimum < 1:
            raise ConfigurationError(
                f"{where}: minimum must be a whole number of values, 1 or more, not {minimum!r}"
            )
        if minimum > len(set(self.values)):
            raise ConfigurationError(
                f"{where}: minimum is {minimum}, more than its {len(set(self.values))} values"
            )
        object.__setattr__(self, "_members", frozenset(self.values))

    def label_for(self, language: str, fallback: str | None = None) -> str:
        """The label in ``language``, else in ``fallback`` (the shop's first language), else
        the first text given."""
        return text_for(self.label, language, fallback)

    def description_for(self, language: str, fallback: str | None = None) -> str:
        """The description in ``language``, chosen as :meth:`label_for` chooses."""
        return text_for(self.description, language, fallback)

    def applies(self, held: Mapping[str, Iterable[str]]) -> bool:
        """Whether the values ``held``, by signal id, make the segment apply."""
        found: set[str] = set()
        for signal_id in self.signals:
            found.update(v for v in held.get(signal_id, ()) if v in self._members)
            if len(found) >= self.minimum:
                return True
        return False
