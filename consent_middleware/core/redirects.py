"""Where a consent form may send the browser afterwards: only a path on this site."""

from __future__ import annotations

import re
from urllib.parse import quote

__all__ = ["RequestTarget", "request_location", "safe_next"]

#: A request's path (mount point included, decoded as the server gives it) and its query
#: (as sent), and whether they come from WSGI, whose servers give bytes as Latin-1
#: characters (ASGI servers decode the path as UTF-8 and give the query as bytes).
RequestTarget = tuple[str, str | bytes, bool]

MAX_NEXT_LENGTH = 2048
# Encoded slashes and backslashes: browsers keep them, but a server or framework that decodes
# its path before redirecting again would read them as separators.
_ENCODED_SEPARATOR = re.compile(r"%(2f|5c)", re.IGNORECASE)
_ENCODED_DOT = re.compile(r"%2e", re.IGNORECASE)


def safe_next(value: str | None, default: str = "/") -> str:
    """``value`` as a path on this site, with its dot segments resolved, else ``default``.

    Refuses anything a browser could read as another origin: a scheme (``javascript:``,
    ``https:``), a network path (``//evil.example``, also once dot segments are resolved, as
    in ``/.//evil.example`` or ``/%2e%2e//evil.example``), backslashes (``/\\evil``, which
    browsers read as ``//``), encoded slashes and backslashes in the path, and control or
    space characters (browsers drop tabs and newlines, which could join ``/`` and ``/evil``
    into ``//evil``).
    """
    if not value or len(value) > MAX_NEXT_LENGTH or not value.startswith("/"):
        return default
    if "\\" in value or not value.isascii():
        return default
    if any(ord(char) <= 0x20 or ord(char) == 0x7F for char in value):
        return default
    split = min((i for i in (value.find("?"), value.find("#")) if i >= 0), default=len(value))
    path, rest = value[:split], value[split:]
    if _ENCODED_SEPARATOR.search(path):
        return default
    path = _remove_dot_segments(path)
    if path.startswith("//"):
        return default
    return path + rest


def _remove_dot_segments(path: str) -> str:
    """``path`` with ``.`` and ``..`` segments (``%2e`` spellings included) resolved as a
    browser resolves them; ``..`` never climbs above the root."""
    segments = path.split("/")[1:]
    kept: list[str] = []
    for position, segment in enumerate(segments):
        last = position == len(segments) - 1
        dots = _ENCODED_DOT.sub(".", segment)
        if dots == "..":
            if kept:
                kept.pop()
            if last:
                kept.append("")
        elif dots == ".":
            if last:
                kept.append("")
        else:
            kept.append(segment)
    return "/" + "/".join(kept)


# What a path or a query may keep as sent; everything else is percent-encoded, so that no
# space, quote, control character or fragment of a request reaches a page or a header.
_PATH_SAFE = "/!$&'()*+,;=:@~"
_QUERY_SAFE = _PATH_SAFE + "?%"


def request_location(target: RequestTarget) -> str:
    """A request's path and query as a URL path, percent-encoded: where a consent form
    sends the shopper back to (still to be checked with :func:`safe_next`)."""
    path, query, latin1 = target
    location = quote(path.encode("latin-1" if latin1 else "utf-8", "replace"), _PATH_SAFE)
    if query:
        raw = query.encode("latin-1", "replace") if isinstance(query, str) else query
        location = f"{location or '/'}?{quote(raw, _QUERY_SAFE)}"
    return location or "/"
