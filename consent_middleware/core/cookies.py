"""Reading the ``Cookie`` header and writing ``Set-Cookie`` lines (RFC 6265)."""

from __future__ import annotations

import re
from collections.abc import Iterator

__all__ = [
    "bare_cookie_name",
    "cookie_names",
    "cookie_values",
    "delete_cookie",
    "find_all_cookies",
    "find_cookies",
    "is_cookie_name",
    "set_cookie",
]

# The token characters RFC 6265 allows in a cookie name.
_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")

_EPOCH = "Thu, 01 Jan 1970 00:00:00 GMT"


def is_cookie_name(name: object) -> bool:
    """Whether ``name`` is a valid cookie name."""
    return isinstance(name, str) and _NAME.match(name) is not None


# Prefixes that make a browser check how a cookie is set (Secure, host-only, HttpOnly),
# matched in any case as browsers do; the longest first.
_NAME_PREFIXES = ("__host-http-", "__secure-", "__host-", "__http-")


def bare_cookie_name(name: str) -> str:
    """``name`` without its ``__Secure-``, ``__Host-`` or ``__Http-`` prefixes (any case):
    such a prefix changes how a cookie may be set, not what it is for."""
    while True:
        lowered = name.lower()
        for prefix in _NAME_PREFIXES:
            if lowered.startswith(prefix):
                name = name[len(prefix) :]
                break
        else:
            return name


# Browsers trim spaces and tabs around a cookie's name and value (RFC 6265, 5.2), so
# ``name =value`` is the cookie ``name``; a part without ``=`` is a nameless cookie and has
# no name to match. Every reader below follows that one rule.
_BLANK = " \t"


def _pairs(header: str) -> Iterator[tuple[str, str]]:
    """Every ``(name, value)`` in a ``Cookie`` header, in the order sent, duplicates kept."""
    for part in header.split(";"):
        name, sep, value = part.partition("=")
        name = name.strip(_BLANK)
        if sep and name:
            yield name, value.strip(_BLANK)


# Parsers in the standard library and the frameworks keep one value per name; a consent
# decision must see every copy the browser sent, so this scan keeps duplicates.
def find_cookies(header: str, names: tuple[str, ...]) -> dict[str, list[str]]:
    """Every value sent for each of ``names``, in the order the browser sent them."""
    found: dict[str, list[str]] = {}
    for name, value in _pairs(header):
        if name in names:
            found.setdefault(name, []).append(value)
    return found


def find_all_cookies(header: str) -> dict[str, list[str]]:
    """Every cookie in a ``Cookie`` header: each name's values, in the order sent."""
    found: dict[str, list[str]] = {}
    for name, value in _pairs(header):
        values = found.get(name)
        if values is None:
            found[name] = [value]
        else:
            values.append(value)
    return found


def cookie_values(header: str, key: str) -> list[str]:
    """Every value sent for the cookie whose ``key`` is its name followed by ``=``.

    Fast when the name appears once, right before its ``=``, as it usually does; otherwise
    the whole header is parsed, with the same result. Values are returned as sent, less
    surrounding blanks (a quoted or padded value simply fails verification later).
    """
    name = key[:-1]
    count = header.count(name)
    if count == 1:
        before, found, after = header.partition(key)
        if found and (not before or before[-1] == ";" or before.endswith("; ")):
            return [after.partition(";")[0].strip(_BLANK)]
    elif not count:
        return []
    return find_cookies(header, (name,)).get(name, [])


def cookie_names(header: str) -> set[str]:
    """The names of the cookies in a ``Cookie`` header."""
    return {name for name, _ in _pairs(header)}


def set_cookie(
    name: str,
    value: str,
    *,
    max_age: int | None,
    secure: bool,
    http_only: bool = True,
    same_site: str = "Lax",
    domain: str | None = None,
) -> str:
    """A ``Set-Cookie`` value with ``Path=/``; ``max_age=None`` makes a session cookie."""
    parts = [f"{name}={value}", "Path=/"]
    if max_age is not None:
        parts.append(f"Max-Age={max_age}")
    if domain:
        parts.append(f"Domain={domain}")
    if http_only:
        parts.append("HttpOnly")
    parts.append(f"SameSite={same_site}")
    if secure:
        parts.append("Secure")
    return "; ".join(parts)


def delete_cookie(name: str, *, secure: bool, domain: str | None = None) -> str:
    """A ``Set-Cookie`` value that removes a cookie set with ``Path=/`` (and ``domain``)."""
    parts = [f"{name}=", "Path=/", "Max-Age=0", f"Expires={_EPOCH}"]
    if domain:
        parts.append(f"Domain={domain}")
    if secure:
        # __Host- and __Secure- cookies can only be overwritten by a Secure cookie.
        parts.append("Secure")
    return "; ".join(parts)
