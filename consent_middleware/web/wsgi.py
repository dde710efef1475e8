"""WSGI consent middleware."""

from __future__ import annotations

from collections.abc import Iterable
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from ..core.context import ENVIRON_KEY
from ..core.cookie_gate import is_set_cookie_header
from .endpoints import MAX_FORM_BYTES
from .messages import RequestInfo, adjust_headers
from .middleware import MiddlewareBase

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

    from ..core.context import PersonalisationContext
    from .engine import ConsentEngine
else:
    WSGIApplication = Any  # the typeshed protocol exists only for type checkers

__all__ = ["ConsentWSGIMiddleware"]


class ConsentWSGIMiddleware(MiddlewareBase[WSGIApplication]):
    """Puts a :class:`PersonalisationContext` in ``environ["consent_middleware.context"]``
    and serves the consent endpoints (under ``prefix``, and ``/.well-known/gpc.json``).

    Takes the same options as :class:`ConsentMiddleware`; see its security notes. Wrap the
    WSGI callable, e.g. ``app.wsgi_app = ConsentWSGIMiddleware(app.wsgi_app, ...)`` in
    Flask. Call :meth:`close` when the server stops (a worker-exit hook) to flush the
    ledger's last choices; without it they are flushed when the interpreter exits.
    """

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = RequestInfo.from_environ(environ)
        engine = self.engine
        if engine.watch_scheme:
            engine.check_scheme(request.scheme, request.forwarded_proto)
        ctx = environ[ENVIRON_KEY] = engine.read(request)
        ctx.accept_language(environ.get("HTTP_ACCEPT_LANGUAGE"))

        endpoint = self.endpoints.route(request.path)
        if endpoint is not None:
            if self.endpoints.wants_body(endpoint, request.method):
                _read_body(environ, request)
            reply = self.endpoints.handle(endpoint, request, ctx, request.cookie_header)
            status = f"{reply.status} {HTTPStatus(reply.status).phrase}"
            start_response(status, reply.headers)
            return [reply.body]

        gate = engine.gate

        def start_with_cookies(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Any:
            if gate is not None:
                headers = _screened(engine, ctx, headers)
            if ctx.varies or ctx.must_write:
                headers = adjust_headers(headers, engine.response_headers(ctx))
            return start_response(status, headers, exc_info)

        return self.app(environ, start_with_cookies)


def _screened(
    engine: ConsentEngine, ctx: PersonalisationContext, headers: list[tuple[str, str]]
) -> list[tuple[str, str]]:
    """The app's headers less the ``Set-Cookie`` lines the request's consent does not allow."""
    positions = [i for i, (name, _) in enumerate(headers) if is_set_cookie_header(name)]
    if not positions:
        return headers
    keep = engine.screen_cookies(ctx, [headers[i][1] for i in positions])
    if all(keep):
        return headers
    dropped = {position for position, kept in zip(positions, keep, strict=True) if not kept}
    return [header for i, header in enumerate(headers) if i not in dropped]


def _read_body(environ: WSGIEnvironment, request: RequestInfo) -> None:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_FORM_BYTES:
        request.body_too_large = True
    elif length > 0:
        request.body = environ["wsgi.input"].read(length)
