"""Per-request cost of the consent middleware, measured against baselines in the same run.

    python benchmarks/overhead.py [--requests N] [--rounds R]

Each variant answers the same tiny app; requests are fed straight to the ASGI/WSGI callable
(no network, no client library) so that only middleware work differs. Variants run
interleaved, round after round, and each figure is the fastest round's mean, which keeps
other load on the machine out of the comparison. Printed ratios, the realistic case first:

- ASGI ``consent_read``: the app reads the mode, so the response gains ``Vary: Cookie``;
  (consent_read - bare) / (SessionMiddleware - bare), both carrying a valid cookie;
- the same for ``consent`` (the app does not read the consent), ``consent_ledger`` (a
  SQLite ledger configured) and ``consent_cold`` (every request brings a cookie not seen
  before);
- consent with 64 purposes / consent with 5 purposes;
- WSGI: (consent - bare) against the same ASGI SessionMiddleware cost (WSGI has no
  session middleware of its own to compare with).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from starlette.applications import Starlette
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from consent_middleware import (
    ConsentMiddleware,
    ConsentPolicy,
    ConsentWSGIMiddleware,
    Purpose,
    get_context,
)
from consent_middleware.core.codec import ConsentCookieCodec, ConsentState, new_consent_id

KEY = "benchmark-secret-key-of-more-than-32-bytes"


def starlette_app(reads_consent: bool = False) -> Starlette:
    async def home(request: Request) -> Response:
        return PlainTextResponse("hello")

    async def home_reading_consent(request: Request) -> Response:
        # Reading the mode makes the response vary with the cookie.
        return PlainTextResponse(f"hello {get_context(request).mode.value}")

    return Starlette(routes=[Route("/", home_reading_consent if reads_consent else home)])


def wsgi_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "5")])
    return [b"hello"]


def policy_with(purposes: int) -> ConsentPolicy:
    if purposes == 5:
        return ConsentPolicy.default()
    extra = [Purpose(f"purpose_{i:02d}", f"Purpose {i}") for i in range(purposes - 5)]
    return ConsentPolicy([*ConsentPolicy.default().purposes, *extra], version="1")


def consent_cookie(policy: ConsentPolicy, name: str = "__Host-consent") -> str:
    """A valid cookie granting every purpose, with a fresh consent id."""
    codec = ConsentCookieCodec(policy, [KEY])
    everything = policy.grant(p.id for p in policy.purposes)
    return f"{name}={codec.encode(ConsentState(new_consent_id(), everything, int(time.time())))}"


def session_cookie() -> str:
    """A real session cookie, as SessionMiddleware itself writes it."""
    captured: list[str] = []

    async def login(request: Request) -> Response:
        request.session.update({"cart": [101, 202, 303], "currency": "EUR", "visits": 3})
        return PlainTextResponse("ok")

    app = SessionMiddleware(Starlette(routes=[Route("/", login)]), secret_key=KEY)

    async def send(message: dict[str, Any]) -> None:
        for key, value in message.get("headers", []):
            if key == b"set-cookie":
                captured.append(value.decode().partition(";")[0])

    asyncio.run(app(scope("session=x"), receive, send))  # type: ignore[arg-type]
    return captured[0]


#: The other cookies a shop's visitor carries beside the consent cookie.
OTHER_COOKIES = "cart=abc; theme=dark"


def scope(cookie: str | None, noise: str = OTHER_COOKIES) -> dict[str, Any]:
    headers = [
        (b"host", b"shop.test"),
        (b"user-agent", b"Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0"),
        (b"accept", b"text/html,application/xhtml+xml"),
        (b"accept-language", b"en-GB,en;q=0.9"),
    ]
    if cookie:
        headers.append((b"cookie", f"{noise}; {cookie}".encode()))
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "https",
        "path": "/",
        "raw_path": b"/",
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "server": ("shop.test", 443),
        "client": ("127.0.0.1", 50000),
    }


async def receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


async def send(message: dict[str, Any]) -> None:
    return None


def asgi_runner(
    app: Any, *cookies: str | None, noise: str = OTHER_COOKIES
) -> Callable[[int], Awaitable[float]]:
    """Requests cycling through ``cookies`` (one cookie: every request carries it), each
    beside the cookies ``noise``."""
    scopes = [scope(cookie, noise) for cookie in cookies]
    # Carries on from round to round, so a cycle longer than the cache never hits it.
    position = itertools.cycle(range(len(scopes)))

    async def run(n: int) -> float:
        start = time.perf_counter()
        for _ in range(n):
            await app(dict(scopes[next(position)]), receive, send)
        return (time.perf_counter() - start) / n

    return run


def wsgi_runner(app: Any, cookie: str | None) -> Callable[[int], float]:
    base = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/",
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "shop.test",
        "SERVER_PORT": "443",
        "HTTP_HOST": "shop.test",
        "wsgi.url_scheme": "https",
    }
    if cookie:
        base["HTTP_COOKIE"] = f"cart=abc; theme=dark; {cookie}"

    def start_response(status: str, headers: list[tuple[str, str]], exc: Any = None) -> None:
        return None

    def run(n: int) -> float:
        start = time.perf_counter()
        for _ in range(n):
            for _chunk in app(dict(base), start_response):
                pass
        return (time.perf_counter() - start) / n

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=4000, help="requests per round")
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()

    five, sixty_four = policy_with(5), policy_with(64)
    asgi = {
        "bare": asgi_runner(starlette_app(), None),
        "session": asgi_runner(
            SessionMiddleware(starlette_app(), secret_key=KEY), session_cookie()
        ),
        # The app reads the mode, so the middleware adds Vary: Cookie to each response.
        "consent_read": asgi_runner(
            ConsentMiddleware(starlette_app(reads_consent=True), secret_keys=[KEY], policy=five),
            consent_cookie(five),
        ),
        "consent": asgi_runner(
            ConsentMiddleware(starlette_app(), secret_keys=[KEY], policy=five), consent_cookie(five)
        ),
        # The same with a SQLite ledger configured: reading consent never touches it.
        "consent_ledger": asgi_runner(
            ConsentMiddleware(
                starlette_app(),
                secret_keys=[KEY],
                policy=five,
                ledger=f"sqlite:///{tempfile.mkdtemp(prefix='consent-overhead-')}/consent.db",
            ),
            consent_cookie(five),
        ),
        # More distinct visitors than the verified-cookie cache holds: every request
        # verifies its signature.
        "consent_cold": asgi_runner(
            ConsentMiddleware(starlette_app(), secret_keys=[KEY], policy=five),
            *(consent_cookie(five) for _ in range(5000)),
        ),
        "consent_64": asgi_runner(
            ConsentMiddleware(starlette_app(), secret_keys=[KEY], policy=sixty_four),
            consent_cookie(sixty_four),
        ),
    }
    wsgi = {
        "wsgi_bare": wsgi_runner(wsgi_app, None),
        "wsgi_consent": wsgi_runner(
            ConsentWSGIMiddleware(wsgi_app, secret_keys=[KEY], policy=five), consent_cookie(five)
        ),
    }
    best: dict[str, float] = {}

    async def asgi_round() -> None:
        for name, run in asgi.items():
            best[name] = min(best.get(name, float("inf")), await run(args.requests))

    for _ in range(args.rounds):
        asyncio.run(asgi_round())
        for name, run_wsgi in wsgi.items():
            best[name] = min(best.get(name, float("inf")), run_wsgi(args.requests))

    print(f"{args.rounds} rounds of {args.requests} requests; fastest round's mean per request")
    for name, seconds in best.items():
        print(f"  {name:<14} {seconds * 1e6:8.2f} us")
    session_added = best["session"] - best["bare"]
    read_added = best["consent_read"] - best["bare"]
    consent_added = best["consent"] - best["bare"]
    print(f"ASGI session adds      {session_added * 1e6:8.2f} us per request")
    print(f"ASGI consent_read adds {read_added * 1e6:8.2f} us per request (the app reads it)")
    print(f"ASGI consent adds      {consent_added * 1e6:8.2f} us per request")
    print(f"ratio (consent_read - bare) / (session - bare) = {read_added / session_added:.3f}")
    print(f"ratio (consent - bare) / (session - bare) = {consent_added / session_added:.3f}")
    ledger_added = best["consent_ledger"] - best["bare"]
    print(f"ratio (consent_ledger - bare) / (session - bare) = {ledger_added / session_added:.3f}")
    cold_added = best["consent_cold"] - best["bare"]
    print(f"ratio (consent_cold - bare) / (session - bare) = {cold_added / session_added:.3f}")
    print(f"ratio consent 64 purposes / 5 purposes    = {best['consent_64'] / best['consent']:.3f}")
    wsgi_added = best["wsgi_consent"] - best["wsgi_bare"]
    print(f"WSGI consent adds      {wsgi_added * 1e6:8.2f} us per request")
    print(f"ratio (WSGI consent - WSGI bare) / (session - bare) = {wsgi_added / session_added:.3f}")


if __name__ == "__main__":
    main()
