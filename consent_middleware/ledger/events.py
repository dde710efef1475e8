"""Consent events: what the ledger keeps as proof of each choice.

The fields follow ISO/IEC TS 27560 and the Kantara Consent Receipt: a record id, a
pseudonymous subject id, the policy version, each purpose given or refused, the time, how
the choice was collected, the language of the notice, and the jurisdiction: the visitor's
region and the rule set it follows. No IP address, email address or user agent is ever
part of an event.

A choice about one signal (switched off, one value forgotten, switched on again) is an event
of its own kind that names the ``signal``; it keeps the purposes in force when it was made,
and never the value forgotten.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

__all__ = ["ConsentEvent", "Kind", "Method", "event_kind"]


class Kind:
    """What happened."""

    GIVEN = "given"
    CHANGED = "changed"
    WITHDRAWN = "withdrawn"
    RENEWED = "renewed"
    #: Signal-level choices: "Don't use this", "Forget this item", switched on again.
    STOPPED = "stopped"
    FORGOTTEN = "forgotten"
    RESUMED = "resumed"


class Method:
    """How the choice was collected."""

    BANNER = "banner"
    PREFERENCE_CENTRE = "preference_centre"
    API = "api"
    GPC = "gpc"
    #: From a "Why am I seeing this?" disclosure.
    WHY = "why"
    #: "Too personal", answered in a disclosure.
    FEEDBACK = "feedback"


@dataclass(frozen=True, slots=True)
class ConsentEvent:
    """One recorded choice; ``time`` is Unix seconds (UTC). ``signal`` names the signal of
    a signal-level choice, and is empty for a choice of purposes."""

    event_id: str
    consent_id: str
    time: float
    policy_version: str
    granted: tuple[str, ...]
    refused: tuple[str, ...]
    method: str
    kind: str
    language: str
    #: The visitor's region (ISO 3166: "DE", "US-CA"), ``None`` when unknown or not named.
    region: str | None = None
    #: The rule set the decision was made under: "opt_in", "opt_out" or "notice".
    rule_set: str = "opt_in"
    #: The own ``version`` of each purpose the choice covered, as ``(purpose, version)``
    #: pairs in purpose order; purposes without one follow ``policy_version``.
    versions: tuple[tuple[str, str], ...] = ()
    signal: str = ""

    @classmethod
    def new(
        cls,
        *,
        consent_id: str,
        time: float,
        policy_version: str,
        granted: Iterable[str],
        refused: Iterable[str],
        method: str,
        kind: str,
        language: str,
        event_id: str | None = None,
        region: str | None = None,
        rule_set: str = "opt_in",
        versions: Iterable[tuple[str, str]] = (),
        signal: str = "",
    ) -> ConsentEvent:
        """An event with ``event_id``, or a fresh random id."""
        return cls(
            event_id or uuid.uuid4().hex,
            consent_id,
            time,
            policy_version,
            tuple(sorted(granted)),
            tuple(sorted(refused)),
            method,
            kind,
            language,
            region,
            rule_set,
            tuple(sorted(versions)),
            signal,
        )

    def to_json(self) -> str:
        """One line of JSON, as the spool keeps it."""
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> ConsentEvent:
        """An event from its JSON form (``ValueError``/``KeyError``/``TypeError`` if not one)."""
        return cls(
            str(data["event_id"]),
            str(data["consent_id"]),
            float(data["time"]),
            str(data["policy_version"]),
            tuple(str(p) for p in data["granted"]),
            tuple(str(p) for p in data["refused"]),
            str(data["method"]),
            str(data["kind"]),
            str(data["language"]),
            # Lines written before regions were recorded hold neither.
            None if data.get("region") is None else str(data["region"]),
            str(data.get("rule_set", "opt_in")),
            tuple((str(p), str(v)) for p, v in data.get("versions", ())),
            # Journals written before signal-level choices hold no signal.
            str(data.get("signal", "")),
        )

    def for_shopper(self) -> dict[str, object]:
        """The event as the shopper's own data download shows it."""
        shown: dict[str, object] = {
            "time": datetime.fromtimestamp(self.time, UTC).isoformat().replace("+00:00", "Z"),
            "granted": list(self.granted),
            "refused": list(self.refused),
            "method": self.method,
            "kind": self.kind,
            "policy_version": self.policy_version,
            "region": self.region,
            "rule_set": self.rule_set,
            "versions": dict(self.versions),
        }
        if self.signal:
            shown["signal"] = self.signal
        return shown


def event_kind(
    previous: frozenset[str] | None, granted: frozenset[str], *, renewed: bool = False
) -> str:
    """Given, changed, withdrawn (only removals) or renewed (after expiry or a new policy)."""
    if renewed:
        return Kind.RENEWED
    if previous is None:
        return Kind.GIVEN
    if granted < previous:
        return Kind.WITHDRAWN
    return Kind.CHANGED
