"""What the ASGI and WSGI middleware share: their options and the engine built from them."""

from __future__ import annotations

from typing import Generic, TypeVar, Unpack

from .endpoints import Endpoints
from .engine import ConsentEngine
from .options import ConsentOptions, ConsentSettings, options_from

AppT = TypeVar("AppT")


class MiddlewareBase(Generic[AppT]):
    """Builds the engine once, at construction, so every mistake surfaces at start-up.

    Options come as keywords (:class:`ConsentSettings` lists them) or as
    ``options=ConsentOptions(...)``; :class:`ConsentOptions` documents each one.
    """

    def __init__(
        self,
        app: AppT,
        *,
        options: ConsentOptions | None = None,
        **settings: Unpack[ConsentSettings],
    ) -> None:
        self.app = app
        self.engine = ConsentEngine(options_from(options, settings))
        self.endpoints = Endpoints(self.engine)
        # What a request's quick way checks: the paths served here, and whether the app's
        # cookies are screened.
        self._routes = self.endpoints.routes
        self._screens = self.engine.gate is not None

    def close(self) -> None:
        """Flush and stop the ledger's threads and close the ledger; safe to call twice.

        The ASGI middleware calls it at the end of the server's lifespan; without it the
        ledger's last choices are flushed when the interpreter exits. Requests that still
        arrive are answered: a grant as not saved (``503``), a withdrawal takes effect and
        is logged.
        """
        self.engine.close()
