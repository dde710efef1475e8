"""Small host apps, ASGI and WSGI, that report what the consent context says."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from flask import Flask, jsonify
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from consent_middleware import get_context
from consent_middleware.context import PersonalisationContext


def describe(ctx: PersonalisationContext) -> dict[str, Any]:
    return {
        "mode": ctx.mode.value,
        "decided": ctx.decided,
        "gpc": ctx.gpc,
        "granted": sorted(ctx.granted),
    }


CUSTOM_HEADERS = [
    ("Cache-Control", "public, max-age=60"),
    ("X-Shop", "kept"),
    ("Set-Cookie", "cart=abc; Path=/"),
]


def starlette_app() -> Starlette:
    async def home(request: Request) -> Response:
        return JSONResponse(describe(get_context(request)))

    async def token(request: Request) -> Response:
        return PlainTextResponse(get_context(request).csrf_token)

    async def custom(request: Request) -> Response:
        response = PlainTextResponse("custom")
        for name, value in CUSTOM_HEADERS:
            response.headers.append(name, value)
        return response

    async def passthrough(request: Request) -> Response:
        return PlainTextResponse(f"app saw {request.method} {request.url.path}")

    return Starlette(
        routes=[
            Route("/", home),
            Route("/token", token),
            Route("/custom", custom),
            Route("/consent/other", passthrough, methods=["GET", "POST"]),
            Route("/consentment", passthrough),
        ]
    )


def wsgi_app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    """A plain WSGI app with the same routes as the Starlette one."""
    path = environ["PATH_INFO"]
    ctx = get_context(environ)
    headers = [("Content-Type", "text/plain; charset=utf-8")]
    if path == "/":
        body = json.dumps(describe(ctx)).encode()
        headers = [("Content-Type", "application/json")]
    elif path == "/token":
        body = ctx.csrf_token.encode()
    elif path == "/custom":
        body = b"custom"
        headers += CUSTOM_HEADERS
    elif path in ("/consent/other", "/consentment"):
        body = f"app saw {environ['REQUEST_METHOD']} {path}".encode()
    else:
        start_response("404 Not Found", headers)
        return [b"not found"]
    start_response("200 OK", [*headers, ("Content-Length", str(len(body)))])
    return [body]


def flask_app() -> Flask:
    app = Flask(__name__)

    @app.route("/")
    def home() -> Any:
        from flask import request

        return jsonify(describe(get_context(request)))

    @app.route("/token")
    def token() -> Any:
        from flask import request

        return get_context(request).csrf_token

    @app.route("/custom")
    def custom() -> Any:
        response = app.make_response("custom")
        for name, value in CUSTOM_HEADERS:
            response.headers.add(name, value)
        return response

    @app.route("/consent/other", methods=["GET", "POST"])
    @app.route("/consentment")
    def passthrough() -> Any:
        from flask import request

        return f"app saw {request.method} {request.path}"

    return app
