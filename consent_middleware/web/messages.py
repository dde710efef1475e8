"""Framework-free request and response records shared by the adapters."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "Reply",
    "RequestInfo",
    "ResponseChanges",
    "adjust_headers",
    "private_cache_control",
    "vary_cookie",
]


@dataclass(slots=True)
class RequestInfo:
    """What the consent endpoints need to know of a request; header names are lower case."""

    method: str
    query_string: str = ""
    headers: dict[str, list[str]] = field(default_factory=dict)
    body: bytes = b""
    #: The body was longer than the adapter was willing to read.
    body_too_large: bool = False
    #: ``http`` or ``https``, as the server received the request (ASGI ``scope["scheme"]``,
    #: WSGI ``wsgi.url_scheme``).
    scheme: str = "http"

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (lower case), or ``None``."""
        values = self.headers.get(name)
        return values[0] if values else None


@dataclass(slots=True)
class Reply:
    """A response produced by the middleware itself."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes = b""


def private_cache_control(existing: str | None) -> str:
    """``Cache-Control`` that keeps shared caches from storing a response.

    Keeps the app's own directives, turning ``public`` into ``private`` and dropping
    ``s-maxage`` (which only shared caches read).
    """
    if not existing:
        return "private"
    directives = []
    for directive in existing.split(","):
        directive = directive.strip()
        name = directive.partition("=")[0].strip().lower()
        if name == "public":
            continue
        if name in ("s-maxage", "proxy-revalidate"):
            continue
        if directive:
            directives.append(directive)
    lowered = {d.partition("=")[0].strip().lower() for d in directives}
    if "private" not in lowered and "no-store" not in lowered:
        directives.insert(0, "private")
    return ", ".join(directives)


def vary_cookie(existing: str | None) -> str:
    """``Vary`` with ``Cookie`` added to what the app already varies on."""
    if not existing:
        return "Cookie"
    names = {item.strip().lower() for item in existing.split(",")}
    if "cookie" in names or "*" in names:
        return existing
    return f"{existing}, Cookie"


@dataclass(frozen=True, slots=True)
class ResponseChanges:
    """What the middleware adds to an app's response."""

    cookies: tuple[str, ...]
    #: The response was built with personal data or sets a cookie: no shared cache.
    private: bool
    #: The response depends on the consent cookie.
    vary_cookie: bool


def adjust_headers(
    headers: list[tuple[str, str]], changes: ResponseChanges
) -> list[tuple[str, str]]:
    """The app's headers with ``changes`` applied.

    The app's own headers are kept in order; ``Cache-Control`` is only made private and
    ``Vary`` only gains ``Cookie``, so the app's other caching rules still hold.
    """
    varies = changes.vary_cookie or changes.private
    if not (changes.cookies or varies):
        return headers
    result = []
    cache_control = vary = None
    for name, value in headers:
        lowered = name.lower()
        if changes.private and lowered == "cache-control":
            cache_control = value if cache_control is None else f"{cache_control}, {value}"
        elif varies and lowered == "vary":
            vary = value if vary is None else f"{vary}, {value}"
        else:
            result.append((name, value))
    if changes.private:
        result.append(("Cache-Control", private_cache_control(cache_control)))
    if varies:
        result.append(("Vary", vary_cookie(vary)))
    result.extend(("Set-Cookie", cookie) for cookie in changes.cookies)
    return result


#: The usual change: the page read the consent, and nothing else happened.
VARY_ONLY = ResponseChanges(cookies=(), private=False, vary_cookie=True)
NO_CHANGES = ResponseChanges(cookies=(), private=False, vary_cookie=False)
