"""Where a request comes from: the region the shop names, by a header it trusts or a
function of its own, applied to the request's context."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..core.context import PersonalisationContext
from ..core.regions import region_code
from .messages import RequestInfo, ResponseChanges
from .options import ConsentOptions

__all__ = ["RegionReader"]

logger = logging.getLogger("consent_middleware")


class RegionReader:
    """Finds each request's region and gives it to the context (``ctx.locate()``).

    Only the headers the shop named are read; a header sent twice, or a value that is not an
    ISO 3166 code, gives an unknown region (``opt_in``). A function that raises gives an
    unknown region too, logged: never a failed request.
    """

    def __init__(
        self,
        function: Callable[[RequestInfo], str | None] | None = None,
        header: str | None = None,
        subdivision_header: str | None = None,
    ) -> None:
        self.function = function
        #: The headers that decide the region, as the shop spelt them (for ``Vary``).
        self.headers = tuple(name for name in (header, subdivision_header) if name)
        self._names = tuple(name.lower() for name in self.headers)
        self._keys = tuple(name.encode("latin-1") for name in self._names)
        self._environ_keys = tuple(
            "HTTP_" + name.upper().replace("-", "_") for name in self.headers
        )
        #: What a response that depends on the region carries (and nothing else changed):
        #: ``Vary`` with the region's headers; a function's region is nowhere in the
        #: request for a cache to key on, so such a response is private instead.
        self.changes = ResponseChanges(
            cookies=(), private=function is not None, vary_cookie=True, vary=self.headers
        )
        #: The same as one ASGI header, for a response that has no ``Vary`` of its own.
        self.vary_header = (b"vary", ", ".join(["Cookie", *self.headers]).encode("latin-1"))

    @classmethod
    def of(cls, options: ConsentOptions) -> RegionReader | None:
        """The reader the options ask for; ``None`` when the shop names no region."""
        if options.region is None and options.region_header is None:
            return None
        return cls(options.region, options.region_header, options.region_subdivision_header)

    def locate(self, ctx: PersonalisationContext, request: RequestInfo) -> None:
        """Give ``ctx`` the region of ``request``."""
        ctx.locate(self.region_of(request))

    def locate_in_scope(
        self,
        ctx: PersonalisationContext,
        scope: Mapping[str, Any],
        headers: list[tuple[bytes, bytes]],
    ) -> None:
        """:meth:`locate` for the ASGI adapter's quick way, from the scope's header list."""
        function = self.function
        if function is not None:
            ctx.locate(_call(function, RequestInfo.from_scope(scope)))
            return
        ctx.locate(region_code(*self._header_values(headers)))

    def region_of(self, request: RequestInfo) -> str | None:
        """The region code of ``request``, or ``None`` when unknown."""
        function = self.function
        if function is not None:
            return _call(function, request)
        return region_code(*self._values(request))

    def _values(self, request: RequestInfo) -> list[str | None]:
        """The named headers' values (``None`` for one missing or sent more than once)."""
        environ = request.environ
        if environ is not None:
            # Servers join a repeated header with commas: no code has one.
            return [environ.get(key) for key in self._environ_keys]
        scope = request.scope
        if scope is None:
            return [_single(request.headers.get(name)) for name in self._names]
        return self._header_values(scope["headers"])

    def _header_values(self, headers: Iterable[tuple[bytes, bytes]]) -> list[str | None]:
        """The named headers' values in an ASGI header list (``None`` as above)."""
        found: dict[bytes, list[bytes]] = {}
        for name, value in headers:
            if name in self._keys:
                found.setdefault(name, []).append(value)
        return [_single_bytes(found.get(key)) for key in self._keys]


def _call(function: Callable[[RequestInfo], str | None], request: RequestInfo) -> str | None:
    try:
        value = function(request)
    except Exception:
        logger.exception("the region function failed: the region is unknown (opt_in)")
        return None
    if value is None:
        return None
    if not isinstance(value, str):
        logger.warning("the region function returned %r, not a string: unknown region", value)
        return None
    return region_code(value)


def _single(values: list[str] | None) -> str | None:
    return values[0] if values and len(values) == 1 else None


def _single_bytes(values: list[bytes] | None) -> str | None:
    return values[0].decode("latin-1") if values and len(values) == 1 else None
