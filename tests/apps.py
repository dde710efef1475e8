"""One small host app, served through Starlette, plain WSGI and Flask: each route reports
what the consent context says or does something with the visitor's data."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qs

from flask import Flask
from flask import Response as FlaskResponse
from flask import request as flask_request
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from consent_middleware import ConsentMiddleware, ConsentRequired, get_context
from consent_middleware.core.context import PersonalisationContext

CUSTOM_HEADERS = [
    ("Cache-Control", "public, max-age=60"),
    ("X-Shop", "kept"),
    ("Set-Cookie", "cart=abc; Path=/"),
]

#: What a storefront sets on its own, whatever the visitor chose (``/tracking``).
TRACKING_COOKIES = [
    ("Set-Cookie", "_ga=GA1.1.42; Path=/; Max-Age=3600"),
    ("Set-Cookie", "ads=7; Path=/"),
    ("Set-Cookie", "recent=tea,pot; Path=/; HttpOnly"),
    ("Set-Cookie", "session=s1; Path=/; HttpOnly"),
    ("Set-Cookie", "cart=abc; Path=/"),
    ("Set-Cookie", "old_ads=; Path=/; Max-Age=0"),
]

Answer = tuple[int, str, list[tuple[str, str]]]


def describe(ctx: PersonalisationContext) -> dict[str, Any]:
    return {
        "mode": ctx.mode.value,
        "decided": ctx.decided,
        "gpc": ctx.gpc,
        "granted": sorted(ctx.granted),
    }


def _json(data: object, status: int = 200) -> Answer:
    return status, json.dumps(data), [("Content-Type", "application/json")]


def shop(ctx: PersonalisationContext, method: str, path: str, query: str) -> Answer:
    """The routes, whatever the framework."""
    args = parse_qs(query)
    text = [("Content-Type", "text/plain; charset=utf-8")]
    try:
        if path == "/":
            return _json(describe(ctx))
        if path.startswith("/where"):
            # Where the consent forms would send the shopper back to.
            return _json({"path": ctx.path, "change_url": ctx.change_url()})
        if path == "/token":
            return 200, ctx.csrf_token, text
        if path == "/per-browser":
            # A page that shows one value of this browser's own, and nothing else.
            readers = {
                "csrf_token": lambda: ctx.csrf_token,
                "csrf_nonce": lambda: ctx.csrf_nonce,
                "consent_id": lambda: ctx.consent_id,
                "public_state": ctx.public_state,
                "visit_export": lambda: ctx.visit.export(),
                "preferences_export": lambda: ctx.preferences.export(),
            }
            body = json.dumps(readers[args["read"][0]]())
            return 200, body, [("Content-Type", "application/json"), CUSTOM_HEADERS[0]]
        if path == "/custom":
            return 200, "custom", text + CUSTOM_HEADERS
        if path == "/tracking":
            # Never looks at the consent: the middleware screens these cookies.
            return 200, "tracked", text + TRACKING_COOKIES
        if path in ("/consent/other", "/consentment"):
            return 200, f"app saw {method} {path}", text
        if path == "/plain":
            return 200, "no consent consulted", [*text, ("Cache-Control", "public, max-age=60")]
        if path.startswith("/view/"):
            ctx.visit.add("viewed_products", path.removeprefix("/view/"))
            return _json({"stored": True})
        if path == "/visit":
            return _json(ctx.visit.get("viewed_products"))
        if path == "/prefs/set":
            ctx.preferences.set("favourite_categories", args.get("c", []))
            return _json({"stored": True})
        if path == "/prefs":
            return _json(ctx.preferences.get("favourite_categories"))
        if path == "/recommend":
            if ctx.may_use("favourite_categories"):
                favourites = ctx.preferences.get("favourite_categories")
                reason = ctx.reason("favourite_categories", text=f"You like {favourites}")
            else:
                reason = ctx.general_reason()
            headers = [("Cache-Control", "public, max-age=60"), ("Vary", "Accept-Encoding")]
            body = json.dumps({"text": reason.text, "personal": reason.personal})
            return 200, body, [("Content-Type", "application/json"), *headers]
    except ConsentRequired as refused:
        return _json({"refused": refused.purpose}, 403)
    return 404, "not found", text


def starlette_app() -> Starlette:
    async def endpoint(request: Request) -> Response:
        status, body, headers = shop(
            get_context(request), request.method, request.url.path, request.url.query
        )
        response = Response(body, status_code=status)
        for name, value in headers:
            if name == "Content-Type":
                response.headers["content-type"] = value
            else:
                response.headers.append(name, value)
        return response

    return Starlette(routes=[Route("/{path:path}", endpoint, methods=["GET", "POST"])])


def wsgi_app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    """The same app as plain WSGI."""
    status, body, headers = shop(
        get_context(environ),
        environ["REQUEST_METHOD"],
        environ["PATH_INFO"],
        environ.get("QUERY_STRING", ""),
    )
    data = body.encode()
    reason = {200: "OK", 403: "Forbidden", 404: "Not Found"}[status]
    start_response(f"{status} {reason}", [*headers, ("Content-Length", str(len(data)))])
    return [data]


def flask_app() -> Flask:
    app = Flask(__name__)

    @app.route("/", defaults={"path": ""}, methods=["GET", "POST"])
    @app.route("/<path:path>", methods=["GET", "POST"])
    def endpoint(path: str) -> FlaskResponse:
        status, body, headers = shop(
            get_context(flask_request),
            flask_request.method,
            flask_request.path,
            flask_request.query_string.decode(),
        )
        response = FlaskResponse(body, status=status)
        for name, value in headers:
            if name == "Content-Type":
                response.headers["Content-Type"] = value
            else:
                response.headers.add(name, value)
        return response

    return app


def asgi_context(middleware: ConsentMiddleware, scope: dict[str, Any]) -> PersonalisationContext:
    """The context ``middleware`` puts in ``scope["consent"]`` for one raw request, read
    there by a tiny ASGI app that answers 204."""
    seen: list[PersonalisationContext] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["consent"])
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def receive() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        return None

    middleware.app = app
    asyncio.run(middleware(scope, receive, send))
    return seen[0]
