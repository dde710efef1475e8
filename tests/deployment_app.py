"""The app the deployment tests serve with real servers, configured from the environment.

``asgi`` runs under uvicorn, ``wsgi`` under gunicorn; both sign with ``CONSENT_TEST_KEY``
and record to the ledger named by ``CONSENT_TEST_LEDGER`` with their journals in
``CONSENT_TEST_SPOOL``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from consent_middleware import ConsentMiddleware, ConsentWSGIMiddleware, get_context
from consent_middleware.ledger.sql import Ledger

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment


def _ledger() -> str | Ledger:
    url = os.environ["CONSENT_TEST_LEDGER"]
    if url.startswith("postgresql"):
        from consent_middleware.ledger.postgres import PostgresLedger

        # Short bounds, so that a cut or silent network is bridged quickly in the tests.
        return PostgresLedger(url, connect_timeout=1, statement_timeout=2, operation_timeout=2)
    return url


OPTIONS: dict[str, Any] = {
    "secret_keys": [os.environ["CONSENT_TEST_KEY"]],
    "secure": False,
    "ledger": _ledger(),
    "spool": os.environ.get("CONSENT_TEST_SPOOL"),
}


async def _home(request: Request) -> JSONResponse:
    return JSONResponse({"mode": get_context(request).mode.value, "server": "uvicorn"})


asgi = ConsentMiddleware(Starlette(routes=[Route("/", _home)]), **OPTIONS)


def _shop(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    body = json.dumps({"mode": get_context(environ).mode.value, "server": "gunicorn"})
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body.encode()]


wsgi = ConsentWSGIMiddleware(_shop, **OPTIONS)
