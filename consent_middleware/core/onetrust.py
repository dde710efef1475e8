"""OneTrust's ``OptanonConsent`` cookie: which cookie groups the visitor consented to."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from urllib.parse import parse_qsl, unquote

from .external import ExternalSource, purposes_by_key, unquoted
from .policy import ANALYTICS, MARKETING, PERSONALISATION, SESSION_PERSONALISATION

__all__ = ["DEFAULT_ONETRUST_GROUPS", "OneTrust", "onetrust_groups"]

#: C0001 strictly necessary, C0002 performance, C0003 functional, C0004 targeting,
#: C0005 social media (not mapped: this shop's purposes do not cover it).
DEFAULT_ONETRUST_GROUPS: Mapping[str, tuple[str, ...]] = {
    "C0002": (ANALYTICS,),
    "C0003": (SESSION_PERSONALISATION, PERSONALISATION),
    "C0004": (MARKETING,),
}
_GROUP = re.compile(r"[A-Za-z0-9_-]{1,64}\Z")
# A real record has about twenty fields.
_MAX_FIELDS = 100


def onetrust_groups(value: str) -> dict[str, bool] | None:
    """The groups an ``OptanonConsent`` value records, each consented or not, or ``None``
    when it records no choice of the visitor's.

    The value is a URL-encoded query string (``...&interactionCount=1&groups=C0001%3A1%2C
    C0002%3A0&...``), sometimes encoded once more. Only ``1`` consents; a group listed twice
    with different states is not consented; entries that are not ``id:0`` or ``id:1`` are
    left out. No choice: no ``groups`` field, none that reads, two different ones, or
    ``interactionCount=0`` (the banner's defaults, before the visitor used it).
    """
    text = unquoted(value)
    if "=" not in text and "%3d" in text.lower():
        text = unquote(text)
    try:
        fields = parse_qsl(text, keep_blank_values=True, max_num_fields=_MAX_FIELDS)
    except ValueError:
        return None
    groups = {v for k, v in fields if k == "groups"}
    interactions = {v.strip() for k, v in fields if k == "interactionCount"}
    if len(groups) != 1 or "0" in interactions:
        return None
    listed = groups.pop()
    if "%" in listed:  # encoded once more than usual
        listed = unquote(listed)
    found: dict[str, bool] = {}
    for entry in listed.split(","):
        group, _, state = entry.strip().partition(":")
        if state not in ("0", "1") or not _GROUP.match(group):
            continue
        found[group] = state == "1" and found.get(group, True)
    return found or None


class OneTrust(ExternalSource[str]):
    """OneTrust's ``OptanonConsent`` cookie as a source of grants.

    ``groups`` maps OneTrust cookie group ids to purpose ids (one or a list); a purpose that
    several groups map to needs all of them. The default: C0002 (performance) ->
    ``analytics``, C0003 (functional) -> ``session_personalisation`` and
    ``personalisation``, C0004 (targeting) -> ``marketing``. OneTrust's record before the
    visitor used its banner (``interactionCount=0``) holds the banner's defaults, not a
    choice: it decides nothing, and the next source, or no decision, applies.
    """

    name = "onetrust"
    label = "OneTrust"

    def __init__(
        self,
        groups: Mapping[str, str | Iterable[str]] | None = None,
        *,
        cookie: str = "OptanonConsent",
    ) -> None:
        def by_key(mapping: object) -> dict[str, frozenset[str]]:
            return purposes_by_key(
                mapping,
                owner="OneTrust",
                what="groups",
                check_key=lambda key: isinstance(key, str) and _GROUP.match(key) is not None,
                example="{'C0002': 'analytics', 'C0004': 'marketing'}",
            )

        super().__init__(
            cookie=cookie,
            requirements=None if groups is None else by_key(groups),
            default=by_key(DEFAULT_ONETRUST_GROUPS),
        )

    def consents(self, value: str) -> frozenset[str] | None:
        groups = onetrust_groups(value)
        return None if groups is None else frozenset(g for g, on in groups.items() if on)
