"""Reading the ``Cookie`` header and writing ``Set-Cookie`` lines (RFC 6265)."""

from __future__ import annotations

import re

__all__ = [
    "cookie_names",
    "cookie_values",
    "delete_cookie",
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


# Parsers in the standard library and the frameworks keep one value per name; a consent
# decision must see every copy the browser sent, so this scan keeps duplicates.
def find_cookies(header: str, names: tuple[str, ...]) -> dict[str, list[str]]:
    """Every value sent for each of ``names``, in the order the browser sent them."""
    found: dict[str, list[str]] = {}
    if not header:
        return found
    for part in header.split(";"):
        key, sep, value = part.partition("=")
        key = key.strip()
        if sep and key in names:
            found.setdefault(key, []).append(value.strip())
    return found


def cookie_values(header: str, key: str) -> list[str]:
    """Every value sent for the cookie whose ``key`` is its name followed by ``=``.

    Fast when the cookie appears once, as it usually does; values are returned as sent
    (a quoted or padded value simply fails verification later).
    """
    before, found, after = header.partition(key)
    if not found:
        return []
    if key not in after and (not before or before.endswith(("; ", ";"))):
        return [after.partition(";")[0]]
    return find_cookies(header, (key[:-1],)).get(key[:-1], [])


def cookie_names(header: str) -> set[str]:
    """The names of the cookies in a ``Cookie`` header."""
    names = set()
    for part in header.split(";"):
        key, sep, _ = part.partition("=")
        if sep and key.strip():
            names.add(key.strip())
    return names


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
