"""Choosing the language of the consent UI: the shop's offer against ``Accept-Language``.

RFC 4647 "lookup": the shopper's ranges are tried in order of preference, each shortened
from the right until one names an offered language (``de-CH`` finds ``de``); ``q=0`` rules a
language out and ``*`` accepts any. When nothing matches, the shop's first language is shown.
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["DEFAULT_LANGUAGES", "LANGUAGE_TAG", "header_value", "negotiate"]

#: What a shop offers unless it says otherwise.
DEFAULT_LANGUAGES: tuple[str, ...] = ("en",)
#: A language tag as the options accept it: ``de``, ``pt-BR``, ``zh-Hant-TW``.
LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*")
# Browsers send a few ranges; a header far longer than that is not read further.
_MAX_HEADER = 512
_MAX_RANGES = 32


def negotiate(accept_language: str | None, offered: tuple[str, ...]) -> str:
    """The offered language the shopper prefers, else ``offered[0]``.

    ``offered`` holds the shop's tags, first the fallback; the one returned is one of them,
    as spelt there. A malformed header reads as no header.
    """
    if not accept_language or len(offered) == 1:
        return offered[0]
    return _lookup(accept_language[:_MAX_HEADER], offered)


@lru_cache(maxsize=256)
def _lookup(header: str, offered: tuple[str, ...]) -> str:
    by_tag = {tag.lower(): tag for tag in offered}
    ranges: list[tuple[float, int, str]] = []
    excluded: set[str] = set()
    for index, item in enumerate(header.split(",")[:_MAX_RANGES]):
        tag, _, params = item.partition(";")
        tag = tag.strip().lower()
        if not tag or (tag != "*" and not LANGUAGE_TAG.fullmatch(tag)):
            continue
        quality = _quality(params)
        if quality is None:
            continue
        if quality == 0:
            excluded.add(tag)
        else:
            # Higher quality first; equal ones in the order sent.
            ranges.append((-quality, index, tag))
    for _, _, tag in sorted(ranges):
        if tag == "*":
            for candidate in offered:
                if candidate.lower() not in excluded:
                    return candidate
            continue
        while tag:
            found = by_tag.get(tag)
            if found is not None and tag not in excluded:
                return found
            tag = tag.rpartition("-")[0]
            if "-" in tag and len(tag.rpartition("-")[2]) == 1:
                # A one-letter subtag only introduces the next: "x" of "de-x-private".
                tag = tag.rpartition("-")[0]
    return offered[0]


def _quality(params: str) -> float | None:
    """The ``q`` of a range, 1 when absent; ``None`` when it is not a valid weight."""
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                quality = float(value.strip())
            except ValueError:
                return None
            return quality if 0 <= quality <= 1 else None
    return 1.0


def header_value(headers: list[tuple[bytes, bytes]], name: bytes) -> str | None:
    """An ASGI scope's header ``name`` (lower case), several joined with commas."""
    values = [value.decode("latin-1") for key, value in headers if key.lower() == name]
    return ", ".join(values) if values else None
