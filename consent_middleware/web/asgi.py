"""Pure ASGI consent middleware."""

from __future__ import annotations

import logging
from functools import partial
from time import time
from typing import TYPE_CHECKING, Any

import anyio.to_thread
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp

from ..core.context import SCOPE_KEY, decided_context
from .endpoints import MAX_FORM_BYTES
from .messages import (
    NO_CHANGES,
    VARY_ONLY,
    RequestInfo,
    ResponseChanges,
    private_cache_control,
    vary_also,
    vary_cookie,
)
from .middleware import MiddlewareBase

if TYPE_CHECKING:
    from collections.abc import Awaitable

    from starlette.types import Message, Receive, Scope, Send

    from ..core.context import PersonalisationContext
    from .engine import ConsentEngine

__all__ = ["ConsentMiddleware"]

logger = logging.getLogger("consent_middleware")


class ConsentMiddleware(MiddlewareBase[ASGIApp]):
    """Puts a :class:`PersonalisationContext` in ``scope["consent"]`` and serves the consent
    endpoints (under ``prefix``, and ``/.well-known/gpc.json``).

    ``secret_keys`` sign the consent cookie: newest first, every key verifies, the first
    signs; keep them out of source control and rotate by putting a new key first. The cookie
    is ``Secure`` and ``__Host-`` prefixed unless ``secure=False`` (local development over
    plain HTTP only). A missing, tampered, expired or outdated cookie gives mode
    ``non_personalised``: this middleware never fails a request because of consent.

    Works with any ASGI app; in Starlette or FastAPI use
    ``app.add_middleware(ConsentMiddleware, secret_keys=[...])``. Lifespan and websocket
    scopes pass through untouched; once the app has shut down at the end of the lifespan,
    the middleware closes (:meth:`close`: the ledger's last choices are flushed).

    Options are keywords (``policy``, ``secret_keys``, ``secure``, ``prefix``, ``ledger``,
    ...) or ``options=ConsentOptions(...)``; :class:`ConsentOptions` documents each one.
    Every mistake raises :class:`ConfigurationError` here, when the middleware is built.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._pass_through(scope, receive, send)
            return
        engine = self.engine
        path = scope["path"]
        headers = scope["headers"]
        # Most requests: a page of an app at the root, one Cookie header, no Sec-GPC. One
        # pass over the headers tells; anything else takes the general way below.
        quick = type(headers) is list and path not in self._routes and not engine.watch_scheme
        cookie = None
        if quick:
            for name, value in headers:
                if name in {b"cookie", b"sec-gpc"}:  # one lookup for each header
                    if name == b"sec-gpc" or cookie is not None:
                        quick = False
                        break
                    cookie = value
            try:
                # Subscripts, not get(): servers send both keys, and a miss costs only then.
                if scope["root_path"]:
                    quick = False
                query = scope["query_string"]
            except KeyError:
                quick = quick and not scope.get("root_path")
                query = scope.get("query_string", b"")
        if quick:
            target = (path, query, False)
            ctx = None
            if cookie is not None and engine.cookie_decides:
                # A returning visitor's valid cookie: one lookup and a time check. Anything
                # else, and any doubt, takes the general way.
                try:
                    try:
                        known = engine.remembered[cookie]
                    except KeyError:
                        known = engine.remember(cookie)
                    if known is not None and known[1] <= time() <= known[2]:
                        ctx = decided_context(known, engine, target, headers)
                except Exception:
                    ctx = None
            if ctx is None:
                ctx = engine.context(
                    "" if cookie is None else cookie.decode("latin-1"), (), "", target, headers
                )
            scope[SCOPE_KEY] = ctx
            if engine.regions is not None:
                engine.regions.locate_in_scope(ctx, scope, headers)
        else:
            request = RequestInfo.from_scope(scope)
            if engine.watch_scheme:
                engine.check_scheme(request.scheme, request.forwarded_proto)
            ctx = scope[SCOPE_KEY] = engine.read(request)
            ctx.accept_language(request.header("accept-language"))
            endpoint = self.endpoints.route(request.path)
            if endpoint is not None:
                await self._serve(endpoint, request, scope, receive, send)
                return

        # A partial of a plain function, not a closure: no cells to make per request.
        await self.app(scope, receive, partial(_send_with_cookies, self, ctx, send))

    async def _pass_through(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Lifespan and websocket scopes go to the app untouched, but for the cookies of a
        websocket's handshake answer, which browsers keep as they keep a page's; when the
        app has finished its lifespan shutdown, the middleware closes before the server is
        told (and opens again if a new lifespan starts)."""
        if scope["type"] == "websocket" and self.engine.gate is not None:
            await self.app(scope, receive, _handshake_screen(self.engine, scope, send))
            return
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def receive_and_reopen() -> Message:
            message = await receive()
            if message["type"] == "lifespan.startup" and self.engine.closed:
                await anyio.to_thread.run_sync(self.engine.reopen)
            return message

        async def send_and_close(message: Message) -> None:
            if message["type"] in ("lifespan.shutdown.complete", "lifespan.shutdown.failed"):
                try:
                    # A last flush and a thread join: off the event loop.
                    await anyio.to_thread.run_sync(self.close)
                except Exception:
                    logger.exception("the consent middleware could not close cleanly")
            await send(message)

        await self.app(scope, receive_and_reopen, send_and_close)

    async def _serve(
        self,
        endpoint: str,
        request: RequestInfo,
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
        if self.endpoints.wants_body(endpoint, request.method) and not await _read_body(
            receive, request
        ):
            return
        ctx = scope[SCOPE_KEY]
        cookie_header = request.cookie_header
        if self.endpoints.blocking(endpoint):
            # A commit, an fsync or a slow database must not stall other requests.
            reply = await anyio.to_thread.run_sync(
                self.endpoints.handle, endpoint, request, ctx, cookie_header
            )
        else:
            reply = self.endpoints.handle(endpoint, request, ctx, cookie_header)
        headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in reply.headers]
        await send({"type": "http.response.start", "status": reply.status, "headers": headers})
        await send({"type": "http.response.body", "body": reply.body})


def _send_with_cookies(
    middleware: ConsentMiddleware, ctx: PersonalisationContext, send: Send, message: Message
) -> Awaitable[None]:
    """``send`` for an app's messages: the response's start gets the cookies and headers
    ``ctx`` calls for, and the app's cookies are screened.

    Not a coroutine: it hands back the server's own awaitable, one frame less per message,
    except when headers must change."""
    if message["type"] != "http.response.start":
        return send(message)
    if ctx.must_write or ctx.personal:
        return _send_changed(middleware.engine, ctx, message, send)
    varies = ctx.varies
    screens = middleware._screens
    if not (varies or screens):
        return send(message)
    try:
        raw = message["headers"]
    except KeyError:
        raw = []
    if type(raw) is not list:
        raw = message["headers"] = list(raw)
    # One pass over the app's headers: a cookie to screen, a Vary to merge into.
    # ASGI asks apps for lower-case names; a "Set-Cookie" spelt otherwise is
    # screened all the same, a "Vary" spelt otherwise gets a second vary line,
    # which HTTP reads as one list.
    merge = False
    for name, _ in raw:
        if len(name) == 10:
            if screens and _is_set_cookie(name):
                return _send_changed(middleware.engine, ctx, message, send)
        elif name == b"vary":
            merge = True
    if varies:
        regions = middleware.engine.regions
        if regions is not None and ctx.varies_with_region:
            if merge or regions.function is not None:
                return _send_changed(middleware.engine, ctx, message, send)
            # A page the region decided: one header to add.
            message["headers"] = [*raw, regions.vary_header]
        elif merge:
            _apply(message, VARY_ONLY)
        else:
            # The usual case, a page that read the consent: one header to add (a
            # new list, as the app's own may be shared).
            message["headers"] = [*raw, _VARY_COOKIE]
    return send(message)


async def _send_changed(
    engine: ConsentEngine, ctx: PersonalisationContext, message: Message, send: Send
) -> None:
    """Send the response's start with the app's cookies screened, and the cookies and cache
    headers ``ctx`` calls for."""
    if engine.gate is not None:
        _screen(engine, ctx, message)
    if ctx.varies or ctx.must_write:
        if ctx.must_write and engine.may_block(ctx):
            # A withdrawal to record, preferences to save: not on the event loop.
            changes = await anyio.to_thread.run_sync(engine.response_headers, ctx)
        else:
            changes = engine.response_headers(ctx)
        _apply(message, changes)
    await send(message)


def _handshake_screen(engine: ConsentEngine, scope: Scope, send: Send) -> Send:
    """``send``, screening the ``Set-Cookie`` headers of a websocket's handshake answer (an
    accept, or a refusal sent as an HTTP response)."""
    ctx = engine.read(RequestInfo.from_scope(scope))

    async def send_screened(message: Message) -> None:
        if message["type"] in _HANDSHAKE_ANSWERS:
            _screen(engine, ctx, message)
        await send(message)

    return send_screened


_HANDSHAKE_ANSWERS = ("websocket.accept", "websocket.http.response.start")


def _screen(engine: ConsentEngine, ctx: PersonalisationContext, message: Message) -> None:
    """Drop the app's ``Set-Cookie`` headers that the request's consent does not allow."""
    raw = message["headers"] = _listed(message.get("headers", []))
    positions = [i for i, (name, _) in enumerate(raw) if len(name) == 10 and _is_set_cookie(name)]
    if not positions:
        return
    lines = [_text(raw[i][1]) for i in positions]
    keep = engine.screen_cookies(ctx, lines)
    if all(keep):
        return
    dropped = {position for position, kept in zip(positions, keep, strict=True) if not kept}
    # A new list: the app's own may be shared.
    message["headers"] = [header for i, header in enumerate(raw) if i not in dropped]


def _apply(message: Message, changes: ResponseChanges) -> None:
    """Apply ``changes`` to a ``http.response.start`` message's headers, merging them with
    the app's own ``Cache-Control`` and ``Vary``."""
    if changes is NO_CHANGES:
        return
    # ASGI asks for lower-case names; an app that sends others still gets its headers merged.
    headers = MutableHeaders(
        raw=[(_latin1(name).lower(), _latin1(value)) for name, value in message.get("headers", [])]
    )
    message["headers"] = headers.raw
    if changes.private:
        headers["cache-control"] = private_cache_control(_joined(headers, "cache-control"))
    if changes.vary_cookie or changes.private:
        headers["vary"] = vary_also(vary_cookie(_joined(headers, "vary")), changes.vary)
    for cookie in changes.cookies:
        headers.append("set-cookie", cookie)


def _joined(headers: MutableHeaders, name: str) -> str | None:
    return ", ".join(headers.getlist(name)) or None


_VARY_COOKIE = (b"vary", b"Cookie")


def _listed(headers: Any) -> list[Any]:
    """The app's headers as a list: ASGI allows any iterable, and they are read twice."""
    return headers if type(headers) is list else list(headers)


def _latin1(text: Any) -> bytes:
    """A header name or value as bytes: servers such as uvicorn also take text."""
    return text.encode("latin-1") if isinstance(text, str) else bytes(text)


def _text(value: Any) -> str:
    """A header value as text, the way :func:`_latin1` reads it."""
    return value if isinstance(value, str) else bytes(value).decode("latin-1")


def _is_set_cookie(name: Any) -> bool:
    """Whether a header name of ten characters is ``Set-Cookie``, in any case or type."""
    return _latin1(name).lower() == b"set-cookie"


async def _read_body(receive: Receive, request: RequestInfo) -> bool:
    """Read the body into ``request``, stopping past the form limit; ``False`` if the client
    went away."""
    chunks = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return False
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_FORM_BYTES:
            request.body_too_large = True
            return True
        chunks.append(chunk)
        if not message.get("more_body", False):
            request.body = b"".join(chunks)
            return True
