"""The rules a policy's purposes, signals and settings must follow together.

Each rule is written once, as a sentence naming the fix: ``ConsentPolicy`` raises the
problems found, and the ``audit`` command lists them beside its advice. A purpose or a signal
checks its own fields when it is made (``inventory.py``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import TypeVar

from .exceptions import ConfigurationError
from .inventory import Purpose, Segment, Signal
from .purpose_tags import id_tag
from .regions import RegionRules
from .texts import Text, languages_of

__all__ = [
    "DEFAULT_CONSENT_LIFETIME",
    "DEFAULT_LEDGER_RETENTION",
    "MAX_CONSENT_LIFETIME",
    "fallback_text_problem",
    "missing_texts",
    "policy_languages",
    "policy_problems",
]

#: Browsers cap cookies at 400 days; consent is asked again before that.
MAX_CONSENT_LIFETIME = timedelta(days=395)
DEFAULT_CONSENT_LIFETIME = timedelta(days=180)
#: Proof of consent is kept three years by default, a common limitation period.
DEFAULT_LEDGER_RETENTION = timedelta(days=3 * 365)


def policy_problems(
    purposes: Iterable[Purpose],
    *,
    version: object,
    signals: Iterable[Signal] = (),
    consent_lifetime: object = DEFAULT_CONSENT_LIFETIME,
    last_updated: object = None,
    ledger_retention: object = DEFAULT_LEDGER_RETENTION,
    regions: object = None,
    segments: Iterable[Segment] = (),
    outcomes: object = (),
) -> list[str]:
    """Every rule that the policy these arguments describe breaks, each as one sentence.

    The arguments are those of :class:`ConsentPolicy`, which raises these problems; the
    ``audit`` command lists them. Each purpose and signal has already checked itself.
    """
    problems = _settings_problems(version, consent_lifetime, last_updated, ledger_retention)
    declared_purposes = _declared("purpose", Purpose, purposes, problems)
    declared_signals = _declared("signal", Signal, signals, problems)
    problems += _implication_problems(declared_purposes)
    problems += _signal_purpose_problems(declared_signals, declared_purposes)
    problems += _tag_problems(declared_purposes)
    try:
        RegionRules.of(regions)  # type: ignore[arg-type]
    except ConfigurationError as e:
        problems.append(str(e))
    declared_segments = _declared("segment", Segment, segments, problems)
    problems += _segment_problems(declared_segments, declared_signals)
    problems += _outcome_problems(outcomes)
    return problems


def _settings_problems(
    version: object, consent_lifetime: object, last_updated: object, ledger_retention: object
) -> list[str]:
    problems = []
    if version is None:
        problems.append("policy needs a version (change it whenever the purposes change)")
    elif not isinstance(version, str) or not version.strip() or len(version) > 64:
        problems.append("policy version must be a non-empty string of 64 characters at most")
    if not isinstance(consent_lifetime, timedelta) or consent_lifetime <= timedelta(0):
        problems.append("policy consent_lifetime must be a positive timedelta")
    elif consent_lifetime > MAX_CONSENT_LIFETIME:
        problems.append(
            f"policy consent_lifetime is {consent_lifetime.days} days: at most 395 days "
            "is allowed (browsers keep cookies 400 days at most)"
        )
    if not isinstance(ledger_retention, timedelta) or ledger_retention <= timedelta(0):
        problems.append("policy ledger_retention must be a positive timedelta")
    if last_updated is not None and (
        not isinstance(last_updated, date) or isinstance(last_updated, datetime)
    ):
        problems.append(
            "policy last_updated must be a date such as 2026-11-29 (in Python a datetime.date, "
            "not a datetime)"
        )
    return problems


_Item = TypeVar("_Item", Purpose, Signal, Segment)


def _declared(
    kind: str, expected: type[_Item], items: Iterable[object], problems: list[str]
) -> dict[str, _Item]:
    """The items by id; an item that is not of the expected type, or whose id is taken
    already, is a problem and left out."""
    index: dict[str, _Item] = {}
    for item in items:
        if not isinstance(item, expected):
            problems.append(f"policy {kind}s must be {expected.__name__} objects, not {item!r}")
        elif item.id in index:
            problems.append(f"policy declares {kind} {item.id!r} twice")
        else:
            index[item.id] = item
    return index


def _implication_problems(purposes: Mapping[str, Purpose]) -> list[str]:
    problems = []
    for purpose in purposes.values():
        where = f"purpose {purpose.id!r}"
        for implied in purpose.implies:
            if implied not in purposes:
                problems.append(f"{where} implies unknown purpose {implied!r}")
            elif implied == purpose.id:
                problems.append(f"{where} implies itself")
            elif purposes[implied].sensitive:
                problems.append(
                    f"{where} implies sensitive purpose {implied!r}: a sensitive purpose must "
                    "be granted on its own"
                )
    return problems


def _signal_purpose_problems(
    signals: Mapping[str, Signal], purposes: Mapping[str, Purpose]
) -> list[str]:
    problems = []
    for signal in signals.values():
        where = f"signal {signal.id!r}"
        owner = purposes.get(signal.purpose)
        if owner is None:
            problems.append(
                f"{where} uses unknown purpose {signal.purpose!r} (declared: "
                f"{', '.join(purposes) or 'none'})"
            )
        elif owner.required:
            problems.append(
                f"{where} uses required purpose {owner.id!r}: personal signals need a purpose "
                "the visitor can refuse"
            )
        elif signal.sensitive and not owner.sensitive:
            problems.append(
                f"{where} is sensitive but uses the general purpose {owner.id!r}: give it a "
                "purpose of its own, declared sensitive=True"
            )
    return problems


def _segment_problems(segments: Mapping[str, Segment], signals: Mapping[str, Signal]) -> list[str]:
    problems = []
    for segment in segments.values():
        where = f"segment {segment.id!r}"
        if segment.id in signals:
            problems.append(
                f"{where} has the id of a signal: reasons name either, so give it another id"
            )
        unknown = [s for s in segment.signals if s not in signals]
        if unknown:
            problems.append(
                f"{where} is built from unknown signal(s) {', '.join(map(repr, unknown))} "
                f"(declared: {', '.join(signals) or 'none'})"
            )
        sensitive = {signals[s].sensitive for s in segment.signals if s in signals}
        if len(sensitive) > 1:
            problems.append(
                f"{where} mixes sensitive and general signals: make a segment of its own "
                "for the sensitive ones"
            )
    return problems


_OUTCOME = re.compile(r"[a-z][a-z0-9_]{0,63}\Z")


def _outcome_problems(outcomes: object) -> list[str]:
    if isinstance(outcomes, str) or not isinstance(outcomes, Iterable):
        return [f"policy outcomes must be a list of names such as ['basket_add'], not {outcomes!r}"]
    problems = []
    seen: set[object] = set()
    for name in outcomes:
        if not isinstance(name, str) or not _OUTCOME.match(name):
            problems.append(
                f"policy outcome {name!r} is invalid: use 1-64 characters of a-z, 0-9 and '_', "
                "starting with a letter"
            )
        elif name in seen:
            problems.append(f"policy declares outcome {name!r} twice")
        seen.add(name)
    return problems


# -- texts per language ------------------------------------------------------------------------


def _texts(
    purposes: Iterable[Purpose], signals: Iterable[Signal]
) -> list[tuple[str, str | Mapping[str, str]]]:
    """Every text the policy gives the shopper, named as "purpose 'x' label"."""
    texts: list[tuple[str, str | Mapping[str, str]]] = []
    for kind, items in (("purpose", purposes), ("signal", signals)):
        for item in items:
            texts.append((f"{kind} {item.id!r} label", item.label))
            if item.description:
                texts.append((f"{kind} {item.id!r} description", item.description))
    return texts


def policy_languages(purposes: Iterable[Purpose], signals: Iterable[Signal]) -> tuple[str, ...]:
    """The languages the policy gives any text in, in the order they first appear."""
    found: dict[str, str] = {}
    for _, text in _texts(purposes, signals):
        for tag in languages_of(text):
            found.setdefault(tag.lower(), tag)
    return tuple(found.values())


def missing_texts(
    purposes: Iterable[Purpose],
    signals: Iterable[Signal],
    language: str,
    *,
    plain: bool = False,
) -> list[str]:
    """The texts that have none in ``language``, each named as "purpose 'x' label".

    A text given per language lacks ``language`` when none is given for it or for a broader
    tag (``de`` serves ``de-CH``). A plain string is one text for every language: it is
    listed only when ``plain`` is true (the audit reads it as written in the first language).
    """
    missing = []
    for name, text in _texts(purposes, signals):
        if isinstance(text, Text):
            if not text.has(language):
                missing.append(name)
        elif plain:
            missing.append(name)
    return missing


def fallback_text_problem(
    purposes: Iterable[Purpose], signals: Iterable[Signal], language: str
) -> str | None:
    """Why the policy cannot be shown with ``language`` as the fallback (the shop's first
    language, shown when a shopper's language has no text), or ``None``."""
    missing = missing_texts(purposes, signals, language)
    if not missing:
        return None
    return (
        f"policy has no text in {language!r}, the shop's first language (shown when a "
        f"shopper's language has none), for {', '.join(missing)}: add a text in "
        f"{language!r} to each, or list first in languages=[...] a language every text has"
    )


def _tag_problems(purposes: Mapping[str, Purpose]) -> list[str]:
    # The consent cookie finds each choice by a 24-bit digest of the purpose's id: two ids
    # with the same digest (about one policy in a million) could not be told apart.
    problems = []
    seen: dict[str, str] = {}
    for purpose in purposes.values():
        if purpose.required:
            continue
        other = seen.setdefault(id_tag(purpose.id), purpose.id)
        if other != purpose.id:
            problems.append(
                f"purposes {other!r} and {purpose.id!r} cannot be told apart in the consent "
                "cookie: rename one of them"
            )
    return problems
