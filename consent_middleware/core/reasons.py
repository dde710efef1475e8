"""Why an item is shown: the reason a shopper reads and the rule that decides it may exist."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from .exceptions import ConsentRequired
from .inventory import Purpose, Segment, Signal, SignalScope
from .modes import Mode
from .policy import PERSONALISATION, SESSION_PERSONALISATION

__all__ = [
    "GENERAL_REASON",
    "SEGMENT_REASON",
    "SPONSORED_REASON",
    "SUGGESTED_FROM",
    "Reason",
    "refusal",
    "retention_text",
    "suggested_text",
]


def N_(message: str) -> str:  # noqa: N802 (gettext's name for "mark, translate later")
    """Mark ``message`` for the UI's catalogue; the UI translates it where it is shown."""
    return message


GENERAL_REASON = "Popular with all shoppers this week; none of your data was used."
#: The sentence of a sponsored placement unless the shop gives one.
SPONSORED_REASON = "This is a paid placement."
#: The sentence of an item chosen by a segment unless the shop gives one (``interest`` is
#: the segment's label).
SEGMENT_REASON = "Because you seem to like %(interest)s."
#: The sentence of a personal reason given no text of its own; ``%(signals)s`` names the
#: signals used. ``reason.text`` holds it in English, ``why()`` shows it in the shopper's
#: language.
SUGGESTED_FROM = N_("Suggested from %(signals)s.")


def suggested_text(
    signals: Iterable[Signal],
    sentence: str = SUGGESTED_FROM,
    language: str = "en",
    fallback: str | None = None,
) -> str:
    """The sentence of a reason given no text, with the signals' labels in ``language``.

    The labels are lower-cased inside the sentence, but in German, whose nouns keep their
    capital.
    """
    labels = (s.label_for(language, fallback) for s in signals)
    if language.lower().partition("-")[0] != "de":
        labels = (label.lower() for label in labels)
    return sentence % {"signals": ", ".join(labels)}


def retention_text(signal: Signal) -> str:
    """How long a signal's data is kept, in words."""
    if signal.scope is SignalScope.SESSION:
        return "kept for this visit only"
    retention = signal.retention or timedelta(0)
    days = retention.days
    if days >= 1:
        return f"kept for {days} day{'s' if days != 1 else ''}"
    hours = max(1, int(retention.total_seconds() // 3600))
    return f"kept for {hours} hour{'s' if hours != 1 else ''}"


@dataclass(frozen=True, slots=True)
class Reason:
    """Why one item is shown to this shopper.

    A personal reason names the ``signals`` it used and their ``purposes``; a general one
    (:meth:`general`) uses no personal data. Build personal ones with
    :meth:`PersonalisationContext.reason`, which refuses signals the shopper did not allow.
    """

    text: str
    signals: tuple[Signal, ...] = ()
    purposes: tuple[Purpose, ...] = ()
    #: The stored value of the first signal that chose the item (a product viewed): what
    #: "Forget this item" removes. ``None`` when the item came from no one value.
    value: str | None = None
    #: Who paid for the placement, for a sponsored item (``None`` for any other).
    sponsor: str | None = None
    #: The segments (broad interests) that chose the item; ``signals`` are those they used.
    segments: tuple[Segment, ...] = ()

    @classmethod
    def general(cls, text: str | None = None) -> Reason:
        """A reason for an item chosen without personal data (bestsellers, this page)."""
        return cls(text or GENERAL_REASON)

    @property
    def personal(self) -> bool:
        """Whether the item was chosen using the shopper's own data."""
        return bool(self.signals)

    @property
    def kind(self) -> str:
        """``"sponsored"`` (a paid placement, targeted or not), ``"segment"`` (chosen by a
        broad interest), ``"personal"`` (chosen with the shopper's data) or ``"general"``
        (with none)."""
        if self.sponsor is not None:
            return "sponsored"
        if self.segments:
            return "segment"
        return "personal" if self.signals else "general"

    @property
    def weighed_most(self) -> Signal | None:
        """The heaviest signal the reason used (the first of equals); ``None`` when none."""
        return max(self.signals, key=lambda s: s.weight) if self.signals else None

    @property
    def retention(self) -> str:
        """How long the data this reason used is kept, in words (empty when none was used)."""
        return "; ".join(
            dict.fromkeys(f"{s.label_for('en')}: {retention_text(s)}" for s in self.signals)
        )


def refusal(signal: Signal, granted: frozenset[str], mode: Mode) -> ConsentRequired | None:
    """Why ``signal`` may not be used under ``granted`` purposes in ``mode``, or ``None``.

    The signal's own purpose must be granted (for a sensitive signal that is its own
    sensitive purpose), and the mode must admit its scope: guest mode admits signals of
    this visit only, non-personalised mode admits none.
    """
    if signal.purpose not in granted:
        return ConsentRequired(
            f"signal {signal.id!r} needs purpose {signal.purpose!r}, which this shopper has "
            "not granted",
            purpose=signal.purpose,
        )
    if mode is Mode.NON_PERSONALISED:
        needed = SESSION_PERSONALISATION if signal.scope is SignalScope.SESSION else PERSONALISATION
        return ConsentRequired(
            f"signal {signal.id!r} personalises, and this shopper browses without personalisation",
            purpose=needed,
        )
    if signal.scope is SignalScope.PERSISTENT and mode is not Mode.PERSONALISED:
        return ConsentRequired(
            f"signal {signal.id!r} is kept across visits, and this shopper allowed "
            "personalisation for this visit only",
            purpose=PERSONALISATION,
        )
    return None
