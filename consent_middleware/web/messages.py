"""Framework-free request and response records shared by the adapters."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

__all__ = [
    "Reply",
    "RequestInfo",
    "ResponseChanges",
    "adjust_headers",
    "private_cache_control",
    "vary_cookie",
]


class RequestInfo:
    """One request as the middleware reads it, built once by the adapter.

    :meth:`from_scope` (ASGI) and :meth:`from_environ` (WSGI) fill in what every request
    needs (the ``Cookie`` and ``Sec-GPC`` headers, the paths); the rest (all the headers,
    the ``X-Forwarded-Proto`` one, the path and query as a URL) is worked out when first
    asked for. Header names are lower case. ``path`` is the path inside the app (below
    ``root_path``, where the app is mounted).
    """

    __slots__ = (
        "_environ",
        "_headers",
        "_location",
        "_raw_headers",
        "body",
        "body_too_large",
        "cookie_header",
        "gpc_values",
        "method",
        "path",
        "query_string",
        "root_path",
        "scheme",
    )

    def __init__(
        self,
        method: str = "GET",
        query_string: str = "",
        headers: dict[str, list[str]] | None = None,
        body: bytes = b"",
        body_too_large: bool = False,
        scheme: str = "http",
        *,
        path: str = "/",
        root_path: str = "",
        cookie_header: str = "",
        gpc_values: Sequence[str] = (),
    ) -> None:
        self.method = method
        #: The query as sent (percent-encoded), without the ``?``.
        self.query_string = query_string
        self._headers = headers
        self.body = body
        #: The body was longer than the adapter was willing to read.
        self.body_too_large = body_too_large
        #: ``http`` or ``https``, as the server received the request (ASGI
        #: ``scope["scheme"]``, WSGI ``wsgi.url_scheme``).
        self.scheme = scheme
        self.path = path
        self.root_path = root_path
        #: The ``Cookie`` header (several joined with ``; ``), or ``""``.
        self.cookie_header = cookie_header
        #: Every ``Sec-GPC`` value sent.
        self.gpc_values = gpc_values
        self._raw_headers: Iterable[tuple[bytes, bytes]] | None = None
        self._environ: Mapping[str, Any] | None = None
        self._location: str | None = None

    @classmethod
    def from_scope(cls, scope: Mapping[str, Any]) -> RequestInfo:
        """The record of an ASGI ``http`` scope."""
        cookie: bytes | None = None
        more: list[bytes] | None = None
        gpc: list[str] | None = None
        raw = scope["headers"]
        for name, value in raw:
            if name == b"cookie":
                # HTTP/2 may split the Cookie header into several: joined once, in order.
                if cookie is None:
                    cookie = value
                elif more is None:
                    more = [cookie, value]
                else:
                    more.append(value)
            elif name == b"sec-gpc":
                if gpc is None:
                    gpc = []
                gpc.append(value.decode("latin-1"))
        if more is not None:
            cookie = b"; ".join(more)
        root_path = scope.get("root_path") or ""
        path = scope["path"]
        # Servers that follow the ASGI spec put the mount point in the path as well; older
        # ones give the path below it.
        if root_path and (path == root_path or path.startswith(root_path + "/")):
            path = path[len(root_path) :]
        request = cls(
            scope.get("method", "GET"),
            scope.get("query_string", b"").decode("latin-1"),
            None,
            b"",
            False,
            scope.get("scheme") or "http",
            path=path,
            root_path=root_path,
            cookie_header="" if cookie is None else cookie.decode("latin-1"),
            gpc_values=gpc or (),
        )
        request._raw_headers = raw
        return request

    @classmethod
    def from_environ(cls, environ: Mapping[str, Any]) -> RequestInfo:
        """The record of a WSGI environ."""
        # Servers join repeated headers with commas; the GPC check reads each item.
        gpc = environ.get("HTTP_SEC_GPC")
        request = cls(
            environ.get("REQUEST_METHOD", "GET"),
            environ.get("QUERY_STRING", ""),
            None,
            b"",
            False,
            environ.get("wsgi.url_scheme") or "http",
            path=environ.get("PATH_INFO", ""),
            root_path=environ.get("SCRIPT_NAME", ""),
            cookie_header=environ.get("HTTP_COOKIE", ""),
            gpc_values=() if gpc is None else (gpc,),
        )
        request._environ = environ
        return request

    @property
    def headers(self) -> dict[str, list[str]]:
        """Every header, by lower-case name, each value in the order sent."""
        headers = self._headers
        if headers is None:
            headers = self._headers = {}
            if self._raw_headers is not None:
                for name, value in self._raw_headers:
                    key = name.decode("latin-1").lower()
                    headers.setdefault(key, []).append(value.decode("latin-1"))
            elif self._environ is not None:
                for key, value in self._environ.items():
                    if key.startswith("HTTP_"):
                        headers[key[5:].replace("_", "-").lower()] = [value]
                for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                    if self._environ.get(key):
                        headers[key.replace("_", "-").lower()] = [self._environ[key]]
        return headers

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (lower case), or ``None``."""
        values = self.headers.get(name)
        return values[0] if values else None

    @property
    def forwarded_proto(self) -> str | None:
        """The first ``X-Forwarded-Proto`` header a proxy set, if any."""
        if self._environ is not None:
            proto: str | None = self._environ.get("HTTP_X_FORWARDED_PROTO")
            return proto
        if self._raw_headers is not None:
            for name, value in self._raw_headers:
                if name == b"x-forwarded-proto":
                    return value.decode("latin-1")
            return None
        return self.header("x-forwarded-proto")

    @property
    def location(self) -> str:
        """This request's path (mount point included) and query, percent-encoded: where a
        consent form sends the shopper back to."""
        location = self._location
        if location is None:
            location = self._location = _location(
                self.root_path + self.path, self.query_string, self._environ is not None
            )
        return location


# What a path or a query may keep as sent; everything else is percent-encoded, so that no
# space, quote, control character or fragment of a request reaches a page or a header.
_PATH_SAFE = "/!$&'()*+,;=:@~"
_QUERY_SAFE = _PATH_SAFE + "?%"


def _location(path: str, query: str, wsgi: bool) -> str:
    # WSGI servers give the path's bytes as Latin-1 characters; ASGI ones decode it as UTF-8.
    raw = path.encode("latin-1", "replace") if wsgi else path.encode("utf-8", "replace")
    location = quote(raw, safe=_PATH_SAFE) or "/"
    if query:
        location += "?" + quote(query.encode("latin-1", "replace"), safe=_QUERY_SAFE)
    return location


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
