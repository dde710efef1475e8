"""Cookiebot's ``CookieConsent`` cookie: which categories the visitor consented to."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from urllib.parse import unquote

from .external import ExternalSource, purposes_by_key, unquoted
from .policy import ANALYTICS, MARKETING, PERSONALISATION, SESSION_PERSONALISATION

__all__ = ["COOKIEBOT_CATEGORIES", "DEFAULT_COOKIEBOT_CATEGORIES", "Cookiebot", "cookiebot_record"]

#: The categories a Cookiebot record holds.
COOKIEBOT_CATEGORIES = ("necessary", "preferences", "statistics", "marketing")
DEFAULT_COOKIEBOT_CATEGORIES: Mapping[str, tuple[str, ...]] = {
    "preferences": (SESSION_PERSONALISATION, PERSONALISATION),
    "statistics": (ANALYTICS,),
    "marketing": (MARKETING,),
}
# One ``key:value`` of the JavaScript object literal, and the comma after it. Values are
# quoted strings, true/false or numbers; keys may be quoted too.
_ENTRY = re.compile(
    r"""\s*(?:'(\w+)'|"(\w+)"|(\w+))\s*:\s*('[^']*'|"[^"]*"|[^,'"{}]*?)\s*(?:,|\Z)"""
)
# Cookiebot writes ``-1`` where no consent is required (outside the regions the site asks in).
_NO_CONSENT_REQUIRED = "-1"


def cookiebot_record(value: str) -> dict[str, str] | None:
    """The fields of a ``CookieConsent`` value, unquoted strings and plain literals, or
    ``None`` when it records no choice.

    The value is a URL-encoded JavaScript object literal (``{stamp:'...',necessary:true,
    preferences:false,statistics:true,marketing:false,method:'explicit',ver:1,utc:...,
    region:'dk'}``), with or without its braces and colons encoded. No choice: ``-1``
    (Cookiebot's "no consent required in this region", also as ``stamp:'-1'``), anything
    that is not such a literal, or a literal without any of the four categories. A field
    given twice with different values is dropped.
    """
    text = unquote(unquoted(value).strip())
    if text.startswith("%"):  # encoded once more than usual
        text = unquote(text)
    text = text.strip()
    if text == _NO_CONSENT_REQUIRED or not (text.startswith("{") and text.endswith("}")):
        return None
    body, position = text[1:-1], 0
    fields: dict[str, str | None] = {}
    while position < len(body) and body[position:].strip():
        entry = _ENTRY.match(body, position)
        if entry is None:
            return None
        position = entry.end()
        key = entry[1] or entry[2] or entry[3]
        raw = entry[4]
        field = raw[1:-1] if raw[:1] in ("'", '"') else raw
        fields[key] = field if fields.get(key, field) == field else None
    record = {key: field for key, field in fields.items() if field is not None}
    if record.get("stamp") == _NO_CONSENT_REQUIRED:
        return None
    if not any(category in fields for category in COOKIEBOT_CATEGORIES):
        return None
    return record


class Cookiebot(ExternalSource[str]):
    """Cookiebot's ``CookieConsent`` cookie as a source of grants.

    ``categories`` maps Cookiebot's categories (``necessary``, ``preferences``,
    ``statistics``, ``marketing``) to purpose ids (one or a list); a purpose that several
    categories map to needs all of them. The default: preferences ->
    ``session_personalisation`` and ``personalisation``, statistics -> ``analytics``,
    marketing -> ``marketing``. ``-1``, Cookiebot's value where no consent is required,
    decides nothing: the next source, or no decision, applies. A category counts only when
    its value is exactly ``true``.
    """

    name = "cookiebot"
    label = "Cookiebot"

    def __init__(
        self,
        categories: Mapping[str, str | Iterable[str]] | None = None,
        *,
        cookie: str = "CookieConsent",
    ) -> None:
        def by_key(mapping: object) -> dict[str, frozenset[str]]:
            return purposes_by_key(
                mapping,
                owner="Cookiebot",
                what="categories",
                check_key=lambda key: key in COOKIEBOT_CATEGORIES,
                example="{'statistics': 'analytics', 'marketing': 'marketing'} (categories: "
                + ", ".join(COOKIEBOT_CATEGORIES)
                + ")",
            )

        super().__init__(
            cookie=cookie,
            requirements=None if categories is None else by_key(categories),
            default=by_key(DEFAULT_COOKIEBOT_CATEGORIES),
        )

    def consents(self, value: str) -> frozenset[str] | None:
        record = cookiebot_record(value)
        if record is None:
            return None
        return frozenset(c for c in COOKIEBOT_CATEGORIES if record.get(c) == "true")
