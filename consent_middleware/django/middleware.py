"""The consent middleware for Django, sync and async, over the engine of the ASGI and WSGI
middleware."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponseBase

from ..core.context import PersonalisationContext
from ..core.cookie_gate import is_set_cookie_header
from ..core.exceptions import ConfigurationError
from ..web.endpoints import Endpoints
from ..web.engine import ConsentEngine
from ..web.messages import NO_CHANGES, RequestInfo, ResponseChanges
from .requests import keep_context, read_body, request_info
from .responses import apply_changes, as_response
from .settings import SETTING, consent_options

__all__ = ["ConsentMiddleware"]

#: Django's next middleware or view: a response, or (async) a coroutine of one.
GetResponse = Callable[[HttpRequest], Any]


class ConsentMiddleware:
    """Puts a :class:`PersonalisationContext` on ``request.consent`` (and where
    :func:`get_context` finds it) and serves the consent endpoints (under ``prefix``, and
    ``/.well-known/gpc.json``), before the views.

    Configured by ``settings.CONSENT_MIDDLEWARE``, a dict of the ASGI and WSGI middleware's
    keyword arguments (``policy`` may be the path of a policy TOML file); a mistake raises
    ``ImproperlyConfigured`` when Django loads its middleware, at start-up. See
    :class:`consent_middleware.ConsentMiddleware` for the security notes: keep
    ``secret_keys`` out of source control, ``secure=False`` is for plain-HTTP development.

    Put it after ``SecurityMiddleware`` and before the middleware that reads the session or
    renders pages; with Django's cache middleware, between ``UpdateCacheMiddleware`` (first)
    and ``FetchFromCacheMiddleware`` (last). The consent forms carry the library's own CSRF
    token and origin check, and are answered before Django's ``CsrfViewMiddleware`` would
    look at them, wherever that sits. Works under WSGI and ASGI alike: the ledger's
    commits and ``fsync`` run off the event loop.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response
        try:
            self.engine = ConsentEngine(consent_options())
        except ConfigurationError as e:  # the options were right, the ledger is not
            raise ImproperlyConfigured(f"{SETTING}: {e}") from e
        self.endpoints = Endpoints(self.engine)
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)

    def close(self) -> None:
        """Flush and stop the ledger's threads and close the ledger; safe to call twice.

        Django has no shutdown hook: without this the ledger's last choices are flushed
        when the interpreter exits.
        """
        self.engine.close()

    def __call__(self, request: HttpRequest) -> Any:
        if self.async_mode:
            return self.__acall__(request)
        info, ctx, endpoint = self._read(request)
        if endpoint is not None:
            return self._answer(endpoint, info, ctx)
        response: HttpResponseBase = self.get_response(request)
        self._screen(response, ctx)
        if ctx.varies or ctx.must_write:
            return self._finish(response, self.engine.response_headers(ctx))
        return self._finish(response, NO_CHANGES)

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        info, ctx, endpoint = self._read(request)
        engine = self.engine
        if endpoint is not None:
            if self.endpoints.blocking(endpoint):
                # A commit, an fsync or a slow database must not stall other requests.
                answer = sync_to_async(self._answer, thread_sensitive=False)
                return await answer(endpoint, info, ctx)
            return self._answer(endpoint, info, ctx)
        response: HttpResponseBase = await self.get_response(request)
        self._screen(response, ctx)
        if not (ctx.varies or ctx.must_write):
            return self._finish(response, NO_CHANGES)
        if ctx.must_write and engine.may_block(ctx):
            # A withdrawal to record, preferences to save: not on the event loop.
            changes = await sync_to_async(engine.response_headers, thread_sensitive=False)(ctx)
        else:
            changes = engine.response_headers(ctx)
        return self._finish(response, changes)

    def _read(self, request: HttpRequest) -> tuple[RequestInfo, PersonalisationContext, str | None]:
        """The request's record and context, and the endpoint it asks for, if any."""
        info = request_info(request)
        engine = self.engine
        if engine.watch_scheme:
            engine.check_scheme(info.scheme, info.forwarded_proto)
        ctx = engine.read(info)
        ctx.accept_language(request.META.get("HTTP_ACCEPT_LANGUAGE"))
        keep_context(request, ctx)
        endpoints = self.endpoints
        endpoint = None
        if info.path.startswith(endpoints.prefixes):
            endpoint = endpoints.route(info.path)
            if endpoint is not None and endpoints.wants_body(endpoint, info.method):
                read_body(request, info)
        return info, ctx, endpoint

    def _screen(self, response: HttpResponseBase, ctx: PersonalisationContext) -> None:
        """Drop the app's cookies that the request's consent does not allow.

        Every ``Set-Cookie`` the app sent is in ``response.cookies`` here (Django writes
        them out after all middleware), before :func:`apply_changes` adds ours, or in
        ``response.headers``, where an app may put one itself.
        """
        if self.engine.gate is None:
            return
        headers = [name for name in response.headers if is_set_cookie_header(name)]
        if not (response.cookies or headers):
            return
        names = list(response.cookies)
        lines = [response.cookies[name].OutputString() for name in names]
        lines.extend(response.headers[name] for name in headers)
        keep = self.engine.screen_cookies(ctx, lines)
        for name, kept in zip(names, keep, strict=False):
            if not kept:
                del response.cookies[name]
        for name, kept in zip(headers, keep[len(names) :], strict=True):
            if not kept:
                del response.headers[name]

    def _finish(self, response: HttpResponseBase, changes: ResponseChanges) -> HttpResponseBase:
        """The one place an app's response is changed, sync or async: our headers and
        cookies after the app's own."""
        apply_changes(response, changes)
        return response

    def _answer(
        self, endpoint: str, info: RequestInfo, ctx: PersonalisationContext
    ) -> HttpResponseBase:
        reply = self.endpoints.handle(endpoint, info, ctx, info.cookie_header)
        return as_response(reply)
