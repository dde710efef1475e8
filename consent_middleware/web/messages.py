"""Framework-free request and response records shared by the adapters."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..core.redirects import RequestTarget, request_location

__all__ = [
    "Reply",
    "RequestInfo",
    "ResponseChanges",
    "adjust_headers",
    "consent_headers",
    "private_cache_control",
    "vary_cookie",
    "vary_also",
]


class RequestInfo:
    """One request as the middleware reads it, built once by the adapter.

    :meth:`from_scope` (ASGI) and :meth:`from_environ` (WSGI) read what every request needs
    (the ``Cookie`` and ``Sec-GPC`` headers, the paths); what only the consent endpoints
    need (the method, the query, the scheme, every header) is read when first asked for.
    Header names are lower case. ``path`` is the path inside the app, below ``root_path``
    (where the app is mounted).
    """

    __slots__ = (
        "_environ",
        "_headers",
        "_location",
        "_method",
        "_query_string",
        "_scheme",
        "_scope",
        "body",
        "body_too_large",
        "cookie_header",
        "gpc_values",
        "path",
        "root_path",
        "target",
    )

    def __init__(
        self,
        method: str = "GET",
        query_string: str = "",
        headers: dict[str, list[str]] | None = None,
        body: bytes = b"",
        body_too_large: bool = False,
        scheme: str = "http",
        path: str = "/",
        root_path: str = "",
        cookie_header: str = "",
        gpc_values: Sequence[str] = (),
    ) -> None:
        self._method: str | None = method
        self._query_string: str | None = query_string
        self._headers = headers
        self.body = body
        #: The body was longer than the adapter was willing to read.
        self.body_too_large = body_too_large
        self._scheme: str | None = scheme
        self.path = path
        self.root_path = root_path
        #: The ``Cookie`` header (several joined with ``; ``), or ``""``.
        self.cookie_header = cookie_header
        #: Every ``Sec-GPC`` value sent.
        self.gpc_values = gpc_values
        #: The path (mount point included) and query, for :attr:`location`.
        self.target: RequestTarget = (root_path + path, query_string, False)
        self._scope: Mapping[str, Any] | None = None
        self._environ: Mapping[str, Any] | None = None
        self._location: str | None = None

    @classmethod
    def from_scope(cls, scope: Mapping[str, Any]) -> RequestInfo:
        """The record of an ASGI ``http`` scope."""
        cookie_header, gpc_values = consent_headers(scope["headers"])
        root_path = scope.get("root_path") or ""
        full_path = path = scope["path"]
        if root_path:
            # Servers that follow the ASGI spec put the mount point in the path as well;
            # older ones give the path below it.
            if path == root_path or path.startswith(root_path + "/"):
                path = path[len(root_path) :]
            else:
                full_path = root_path + path
        target = (full_path, scope.get("query_string", b""), False)
        return cls._of(path, root_path, target, cookie_header, gpc_values, scope, None)

    @classmethod
    def from_environ(cls, environ: Mapping[str, Any]) -> RequestInfo:
        """The record of a WSGI environ."""
        path = environ.get("PATH_INFO", "")
        root_path = environ.get("SCRIPT_NAME", "")
        target = (root_path + path, environ.get("QUERY_STRING", ""), True)
        # Servers join repeated headers with commas; the GPC check reads each item.
        gpc = environ.get("HTTP_SEC_GPC")
        gpc_values = () if gpc is None else (gpc,)
        cookie_header = environ.get("HTTP_COOKIE", "")
        return cls._of(path, root_path, target, cookie_header, gpc_values, None, environ)

    @classmethod
    def _of(
        cls,
        path: str,
        root_path: str,
        target: RequestTarget,
        cookie_header: str,
        gpc_values: Sequence[str],
        scope: Mapping[str, Any] | None,
        environ: Mapping[str, Any] | None,
    ) -> RequestInfo:
        # Built field by field: WSGI and mounted ASGI apps build one for every request.
        request = cls.__new__(cls)
        request.path = path
        request.root_path = root_path
        request.target = target
        request.cookie_header = cookie_header
        request.gpc_values = gpc_values
        request._scope = scope
        request._environ = environ
        # What only the endpoints need is read when asked for.
        request._method = request._query_string = request._scheme = None
        request._headers = request._location = None
        request.body = b""
        request.body_too_large = False
        return request

    def _read_rest(self) -> None:
        scope, environ = self._scope, self._environ
        if scope is not None:
            self._method = scope.get("method", "GET")
            self._query_string = scope.get("query_string", b"").decode("latin-1")
            self._scheme = scope.get("scheme") or "http"
        elif environ is not None:
            self._method = environ.get("REQUEST_METHOD", "GET")
            self._query_string = environ.get("QUERY_STRING", "")
            self._scheme = environ.get("wsgi.url_scheme") or "http"

    @property
    def method(self) -> str:
        """The request method."""
        if self._method is None:
            self._read_rest()
        return self._method or "GET"

    @property
    def query_string(self) -> str:
        """The query as sent (percent-encoded), without the ``?``."""
        if self._query_string is None:
            self._read_rest()
        return self._query_string or ""

    @property
    def scheme(self) -> str:
        """``http`` or ``https``, as the server received the request (ASGI
        ``scope["scheme"]``, WSGI ``wsgi.url_scheme``)."""
        if self._scheme is None:
            self._read_rest()
        return self._scheme or "http"

    @property
    def headers(self) -> dict[str, list[str]]:
        """Every header, by lower-case name, each value in the order sent."""
        headers = self._headers
        if headers is None:
            headers = self._headers = {}
            if self._scope is not None:
                for name, value in self._scope["headers"]:
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
    def scope(self) -> Mapping[str, Any] | None:
        """The ASGI scope the record was made from (``None`` under WSGI)."""
        return self._scope

    @property
    def environ(self) -> Mapping[str, Any] | None:
        """The WSGI environ the record was made from (``None`` under ASGI)."""
        return self._environ

    @property
    def forwarded_proto(self) -> str | None:
        """The first ``X-Forwarded-Proto`` header a proxy set, if any."""
        if self._environ is not None:
            proto: str | None = self._environ.get("HTTP_X_FORWARDED_PROTO")
            return proto
        if self._scope is not None:
            for name, value in self._scope["headers"]:
                if name == b"x-forwarded-proto":
                    return str(value.decode("latin-1"))
            return None
        return self.header("x-forwarded-proto")

    @property
    def location(self) -> str:
        """This request's path (mount point included) and query, percent-encoded: where a
        consent form sends the shopper back to."""
        location = self._location
        if location is None:
            location = self._location = request_location(self.target)
        return location


def consent_headers(headers: Iterable[tuple[bytes, bytes]]) -> tuple[str, Sequence[str]]:
    """The ``Cookie`` header of an ASGI request (several joined with ``; ``, in order; ``""``
    when none) and every ``Sec-GPC`` value."""
    if type(headers) is not list:
        headers = list(headers)
    # One dictionary built in C finds both; it answers only when no header name came twice
    # (HTTP/2 may split the Cookie header, a client may repeat Sec-GPC).
    by_name = dict(headers)
    if len(by_name) == len(headers):
        cookie = by_name.get(b"cookie")
        gpc = by_name.get(b"sec-gpc")
        return (
            "" if cookie is None else cookie.decode("latin-1"),
            () if gpc is None else (gpc.decode("latin-1"),),
        )
    cookies: list[bytes] = []
    gpc_values: list[str] = []
    for name, value in headers:
        if name == b"cookie":
            cookies.append(value)
        elif name == b"sec-gpc":
            gpc_values.append(value.decode("latin-1"))
    return b"; ".join(cookies).decode("latin-1"), gpc_values


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


def vary_also(existing: str, names: Sequence[str]) -> str:
    """``Vary`` with ``names`` added to what it lists already."""
    listed = {item.strip().lower() for item in existing.split(",")}
    if "*" in listed:
        return existing
    added = [name for name in names if name.lower() not in listed]
    return ", ".join([existing, *added]) if added else existing


@dataclass(frozen=True, slots=True)
class ResponseChanges:
    """What the middleware adds to an app's response."""

    cookies: tuple[str, ...]
    #: The response was built with personal data or sets a cookie: no shared cache.
    private: bool
    #: The response depends on the consent cookie.
    vary_cookie: bool
    #: Other request headers the response depends on (the region's), for ``Vary``.
    vary: tuple[str, ...] = ()


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
    if changes is VARY_ONLY:
        # The usual case, a page that read the consent: one header to add, unless the app
        # varies already (then merged below).
        for name, _ in headers:
            if name.lower() == "vary":
                break
        else:
            return [*headers, ("Vary", "Cookie")]
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
        result.append(("Vary", vary_also(vary_cookie(vary), changes.vary)))
    result.extend(("Set-Cookie", cookie) for cookie in changes.cookies)
    return result


#: The usual change: the page read the consent, and nothing else happened.
VARY_ONLY = ResponseChanges(cookies=(), private=False, vary_cookie=True)
NO_CHANGES = ResponseChanges(cookies=(), private=False, vary_cookie=False)
