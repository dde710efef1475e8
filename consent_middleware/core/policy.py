"""A consent policy: the purposes and signals of one shop, under one version."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from os import PathLike
from typing import Any

from .default_texts import DESCRIPTIONS, LABELS
from .exceptions import ConfigurationError
from .inventory import SEGMENT, Purpose, Segment, Signal, SignalScope
from .policy_file import Declarations, read_declarations, read_toml
from .policy_rules import (
    DEFAULT_CONSENT_LIFETIME,
    DEFAULT_LEDGER_RETENTION,
    MAX_CONSENT_LIFETIME,
    policy_problems,
)
from .purpose_tags import purpose_tag
from .regions import RegionRules, RuleSet

__all__ = [
    "MAX_CONSENT_LIFETIME",
    "ConsentPolicy",
    "Purpose",
    "Segment",
    "Signal",
    "SignalScope",
    "check_declarations",
    "policy_problems",
]

NECESSARY = "necessary"
SESSION_PERSONALISATION = "session_personalisation"
PERSONALISATION = "personalisation"
ANALYTICS = "analytics"
MARKETING = "marketing"


def check_declarations(declared: Declarations) -> tuple[ConsentPolicy | None, list[str]]:
    """The policy that a file's declarations describe, and every problem in them at once.

    The policy is ``None`` whenever there is a problem. :meth:`ConsentPolicy.from_mapping`
    raises these problems and the ``audit`` command lists them: both read them here.
    """
    # A signal whose purpose could not be read is not also reported for using an unknown one.
    signals = [s for s in declared.signals if s.purpose not in declared.unreadable]
    problems = [
        *declared.problems,
        *policy_problems(
            declared.purposes, signals=signals, segments=declared.segments, **declared.settings
        ),
    ]
    if problems:
        return None, problems
    policy = ConsentPolicy(
        declared.purposes, signals=declared.signals, segments=declared.segments, **declared.settings
    )
    return policy, []


def _error(problems: list[str]) -> ConfigurationError:
    return ConfigurationError("; ".join(problems))


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
    recorded choice for ``ledger_retention`` (three years by default). ``regions`` says which
    regions follow the ``opt_out`` and ``notice`` rule sets (a :class:`RegionRules`, or a
    mapping such as ``{"opt_out": ["US-CA"]}``); by default the US states with opt-out laws
    (:meth:`RegionRules.default`), and ``opt_in`` everywhere else. ``segments`` are broad
    interest groups built from signals; ``outcomes`` are the names the shop counts per day
    and mode with ``ctx.count()`` (orders, basket adds, ...). Every mistake raises
    :class:`ConfigurationError` here, at start-up, never at request time: all of them at once
    (see :func:`policy_problems`).
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
        regions: RegionRules | Mapping[str, Iterable[str]] | None = None,
        segments: Iterable[Segment] = (),
        outcomes: Iterable[str] = (),
    ) -> None:
        purposes = tuple(purposes)
        signals = tuple(signals)
        segments = tuple(segments)
        if isinstance(outcomes, Iterable) and not isinstance(outcomes, str):
            outcomes = tuple(outcomes)  # else refused below
        problems = policy_problems(
            purposes,
            version=version,
            signals=signals,
            consent_lifetime=consent_lifetime,
            last_updated=last_updated,
            ledger_retention=ledger_retention,
            regions=regions,
            segments=segments,
            outcomes=outcomes,
        )
        if problems:
            raise _error(problems)
        self.version = version
        self.consent_lifetime = consent_lifetime
        self.last_updated = last_updated
        #: How long the ledger keeps a consent event (the purge command applies it).
        self.ledger_retention = ledger_retention
        self.purposes: tuple[Purpose, ...] = purposes
        self.signals: tuple[Signal, ...] = signals
        self._purposes = {p.id: p for p in purposes}
        self._signals = {s.id: s for s in signals}
        #: Broad interest groups built from signals (see :class:`Segment`).
        self.segments: tuple[Segment, ...] = segments
        #: What the shop counts per day and mode with ``ctx.count(name)``.
        self.outcomes: tuple[str, ...] = tuple(outcomes)
        self._segments = {s.id: s for s in segments}
        # Signals whose values the app never reads: their purpose gives only segments.
        self._segment_only = frozenset(
            s.id for s in signals if self._purposes[s.purpose].granularity == SEGMENT
        )

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
        #: A digest of ``version`` alone: a consent cookie written under another policy
        #: version is refused (everything is asked again).
        self.version_stamp = hashlib.sha256(
            json.dumps(["consent-policy-3", version]).encode()
        ).hexdigest()[:10]
        #: The tag a consent cookie records each optional purpose's choice under: another
        #: purpose ``version`` (or flag) gives another tag, and asks about that purpose again.
        self.purpose_tags: dict[str, str] = {p.id: purpose_tag(p) for p in self.optional}
        #: Which regions follow which rule set.
        self.regions = RegionRules.of(regions)
        self.optional_ids: frozenset[str] = frozenset(p.id for p in self.optional)
        #: What starts granted, before a choice, in ``opt_out`` and ``notice`` regions.
        self.opt_out_allowed_ids: frozenset[str] = frozenset(
            p.id for p in self.purposes if p.opt_out_allowed
        )
        self._gpc_off = {
            RuleSet.OPT_IN: self.gpc_opt_out_ids,
            RuleSet.OPT_OUT: self.gpc_opt_out_ids | self.opt_out_allowed_ids,
            RuleSet.NOTICE: self.gpc_opt_out_ids,
        }

    @classmethod
    def default(
        cls,
        *,
        version: str = "1",
        signals: Iterable[Signal] = (),
        regions: RegionRules | Mapping[str, Iterable[str]] | None = None,
        segments: Iterable[Segment] = (),
        outcomes: Iterable[str] = (),
    ) -> ConsentPolicy:
        """The five standard purposes: necessary, session_personalisation, personalisation,
        analytics and marketing (off whenever the browser sends GPC), their labels and
        descriptions in every language the consent UI ships; with your signals, segments
        and outcomes.

        ``analytics`` and ``marketing`` are ``opt_out_allowed``: in the default ``opt_out``
        regions they start granted until the shopper opts out (or sends GPC); the
        personalisation purposes are opt-in everywhere. ``regions`` replaces the default
        regional rules (:meth:`RegionRules.default`)."""
        return cls(
            [
                Purpose(NECESSARY, LABELS[NECESSARY], DESCRIPTIONS[NECESSARY], required=True),
                Purpose(
                    SESSION_PERSONALISATION,
                    LABELS[SESSION_PERSONALISATION],
                    DESCRIPTIONS[SESSION_PERSONALISATION],
                ),
                Purpose(
                    PERSONALISATION,
                    LABELS[PERSONALISATION],
                    DESCRIPTIONS[PERSONALISATION],
                    implies=(SESSION_PERSONALISATION,),
                ),
                Purpose(
                    ANALYTICS, LABELS[ANALYTICS], DESCRIPTIONS[ANALYTICS], opt_out_allowed=True
                ),
                Purpose(
                    MARKETING,
                    LABELS[MARKETING],
                    DESCRIPTIONS[MARKETING],
                    gpc_opt_out=True,
                    opt_out_allowed=True,
                ),
            ],
            version=version,
            signals=signals,
            last_updated=date(2026, 11, 29),
            regions=regions,
            segments=segments,
            outcomes=outcomes,
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
        """Build a policy from plain data, in the shape of the TOML file.

        Every problem is reported at once, in one :class:`ConfigurationError`.
        """
        policy, problems = check_declarations(read_declarations(data))
        if policy is None:
            raise _error(problems)
        return policy

    def gpc_off(self, rule_set: RuleSet) -> frozenset[str]:
        """The purposes Global Privacy Control keeps off under ``rule_set``: those declared
        ``gpc_opt_out`` everywhere and, in ``opt_out`` regions, every ``opt_out_allowed``
        one (GPC is the shopper's opt-out there, and overrides an earlier opt-in)."""
        return self._gpc_off[rule_set]

    def signals_of(self, purpose_id: str) -> tuple[Signal, ...]:
        """The signals that use ``purpose_id``, most influential (heaviest) first."""
        return tuple(s for s in self.by_weight if s.purpose == purpose_id)

    @property
    def by_weight(self) -> tuple[Signal, ...]:
        """Every signal, heaviest first; equal weights in declared order."""
        return tuple(sorted(self.signals, key=lambda s: -s.weight))

    def weight_shares(self, signals: Iterable[Signal] | None = None) -> list[tuple[Signal, int]]:
        """``signals`` (default: all) heaviest first, each with its share of their total
        weight, in whole percent."""
        chosen = sorted(self.signals if signals is None else signals, key=lambda s: -s.weight)
        total = sum(s.weight for s in chosen)
        return [(s, round(100 * s.weight / total)) for s in chosen]

    def segment(self, segment_id: str) -> Segment:
        """The declared segment with this id; ``KeyError`` if there is none."""
        return self._segments[segment_id]

    def gives_values(self, signal_id: str) -> bool:
        """Whether the app may read the values of this declared signal: its purpose's
        granularity is ``"signal"``; under ``"segment"`` it gets only segments."""
        return signal_id not in self._segment_only

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
