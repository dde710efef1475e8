"""A Django ``HttpRequest`` as the engine reads it, and where its context is kept."""

from __future__ import annotations

import logging
from typing import Any, cast

from django.http import HttpRequest

from ..core.context import ENVIRON_KEY, SCOPE_KEY, PersonalisationContext
from ..web.endpoints import MAX_FORM_BYTES
from ..web.messages import RequestInfo

__all__ = ["DjangoRequestInfo", "keep_context", "read_body", "request_info"]

logger = logging.getLogger("consent_middleware")


class DjangoRequestInfo(RequestInfo):
    """The record of a request Django made: the scheme is Django's ``request.scheme``, so
    a proxy named by ``SECURE_PROXY_SSL_HEADER`` is believed as Django believes it."""

    __slots__ = ("django_request",)

    django_request: HttpRequest

    @property
    def scheme(self) -> str:
        """``http`` or ``https``, as Django sees the request."""
        return str(self.django_request.scheme or "http")


def request_info(request: HttpRequest) -> RequestInfo:
    """The request record of a Django request: from the ASGI scope under an
    ``ASGIRequest``, the WSGI environ under a ``WSGIRequest``, else from ``META``."""
    info: DjangoRequestInfo
    scope: Any = getattr(request, "scope", None)
    if isinstance(scope, dict):
        if isinstance(scope.get("query_string"), str):
            # Django's AsyncClient gives text where servers give bytes.
            scope = {**scope, "query_string": scope["query_string"].encode("latin-1")}
        info = cast(DjangoRequestInfo, DjangoRequestInfo.from_scope(scope))
    else:
        environ: Any = getattr(request, "environ", None)
        if not isinstance(environ, dict):
            return _from_meta(request)
        info = cast(DjangoRequestInfo, DjangoRequestInfo.from_environ(environ))
    info.django_request = request
    return info


def _from_meta(request: HttpRequest) -> RequestInfo:
    # A bare HttpRequest, as tests build them: its META holds the headers.
    meta = request.META
    headers = {
        key[5:].replace("_", "-").lower(): [str(value)]
        for key, value in meta.items()
        if key.startswith("HTTP_")
    }
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if meta.get(key):
            headers[key.replace("_", "-").lower()] = [str(meta[key])]
    gpc = meta.get("HTTP_SEC_GPC")
    return RequestInfo(
        method=request.method or "GET",
        query_string=str(meta.get("QUERY_STRING", "")),
        headers=headers,
        scheme=request.scheme or "http",
        path=request.path_info,
        root_path=request.path[: len(request.path) - len(request.path_info)],
        cookie_header=str(meta.get("HTTP_COOKIE", "")),
        gpc_values=() if gpc is None else (str(gpc),),
    )


def keep_context(request: HttpRequest, ctx: PersonalisationContext) -> None:
    """``request.consent``, and where :func:`get_context` looks: the ASGI scope of an
    ``ASGIRequest``, the WSGI environ of a ``WSGIRequest``."""
    request.consent = ctx
    scope: Any = getattr(request, "scope", None)
    if isinstance(scope, dict):
        scope[SCOPE_KEY] = ctx
        return
    environ: Any = getattr(request, "environ", None)
    if isinstance(environ, dict):
        environ[ENVIRON_KEY] = ctx


def read_body(request: HttpRequest, info: RequestInfo) -> None:
    """Put a consent form's body in ``info``, refusing one far larger than a form."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_FORM_BYTES:
        info.body_too_large = True
        return
    try:
        # Django's own copy, so that other middleware may read it too.
        body = request.body
    except Exception:  # read already as a stream by other middleware: no form to check
        logger.debug("the consent form's body could not be read", exc_info=True)
        return
    if len(body) > MAX_FORM_BYTES:
        info.body_too_large = True
    else:
        info.body = body
