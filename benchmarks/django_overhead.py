"""Per-request cost of the Django consent middleware against Django's SessionMiddleware,
measured side by side in the same run.

    python benchmarks/django_overhead.py [--requests N] [--rounds R]

(needs the ``django`` extra; from a checkout that is not installed, ``PYTHONPATH=.``)

One tiny Django project is served by several handlers that differ only in ``MIDDLEWARE``;
requests are fed straight to Django's WSGI and ASGI handlers (no network, no client
library). Variants run interleaved, round after round, and each figure is the fastest
round's mean, which keeps other load on the machine out of the comparison:

- ``bare``: no middleware, a plain view (under ASGI, each view is a coroutine);
- ``session``: ``SessionMiddleware`` with a session cookie (signed-cookie sessions, so no
  database is timed), and a view that reads the session, as a shop's cart does;
- ``consent_read``: ``ConsentMiddleware`` with a valid consent cookie, and a view that reads
  the mode, so the response gains ``Vary: Cookie`` (the realistic case);
- ``consent``: the same, the view not reading the consent.

Printed: each figure, then (consent_read - bare) / (session - bare) and
(consent - bare) / (session - bare), under WSGI (the middleware runs sync) and under ASGI
(async).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import time
from collections.abc import Awaitable, Callable
from typing import Any

import django
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import path

from consent_middleware import ConsentPolicy
from consent_middleware.core.codec import ConsentCookieCodec, ConsentState, new_consent_id

KEY = "benchmark-secret-key-of-more-than-32-bytes"
SESSION = "django.contrib.sessions.middleware.SessionMiddleware"
CONSENT = "consent_middleware.django.ConsentMiddleware"

settings.configure(
    SECRET_KEY=KEY,
    ALLOWED_HOSTS=["shop.test"],
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=["consent_middleware.django"],
    MIDDLEWARE=[],
    SESSION_ENGINE="django.contrib.sessions.backends.signed_cookies",
    CONSENT_MIDDLEWARE={"secret_keys": [KEY]},
    LOGGING_CONFIG=None,
)
django.setup()


def plain(request: HttpRequest) -> HttpResponse:
    return HttpResponse("hello")


def cart(request: HttpRequest) -> HttpResponse:
    return HttpResponse(f"hello {len(request.session.get('cart', []))}")


def mode(request: HttpRequest) -> HttpResponse:
    return HttpResponse(f"hello {request.consent.mode.value}")  # type: ignore[attr-defined]


# The same views as coroutines, for the ASGI handler: no thread hop to reach them.
async def async_plain(request: HttpRequest) -> HttpResponse:
    return plain(request)


async def async_cart(request: HttpRequest) -> HttpResponse:
    return cart(request)  # signed-cookie sessions touch no database


async def async_mode(request: HttpRequest) -> HttpResponse:
    return mode(request)


urlpatterns = [
    path("", plain),
    path("cart", cart),
    path("mode", mode),
    path("async/", async_plain),
    path("async/cart", async_cart),
    path("async/mode", async_mode),
]


def consent_cookie() -> str:
    """A valid cookie granting every purpose, as the middleware signs it."""
    policy = ConsentPolicy.default()
    codec = ConsentCookieCodec(policy, [KEY])
    everything = policy.grant(p.id for p in policy.purposes)
    state = ConsentState(new_consent_id(), everything, int(time.time()))
    return f"__Host-consent={codec.encode(state)}"


def session_cookie() -> str:
    """A real session cookie, as SessionMiddleware's signed-cookie store writes it."""
    from django.contrib.sessions.backends.signed_cookies import SessionStore

    store = SessionStore()
    store.update({"cart": [101, 202, 303], "currency": "EUR", "visits": 3})
    store.save()
    return f"sessionid={store.session_key}"


def handler(kind: str, middleware: list[str]) -> Any:
    """Django's WSGI or ASGI handler, loading ``middleware`` now."""
    from django.core.handlers.asgi import ASGIHandler
    from django.core.handlers.wsgi import WSGIHandler
    from django.test import override_settings

    with override_settings(MIDDLEWARE=middleware):
        return WSGIHandler() if kind == "wsgi" else ASGIHandler()


HEADERS = [
    ("host", "shop.test"),
    ("user-agent", "Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0"),
    ("accept", "text/html,application/xhtml+xml"),
    ("accept-language", "en-GB,en;q=0.9"),
]


def wsgi_runner(app: Any, route: str, cookie: str | None) -> Callable[[int], float]:
    base = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": route,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "shop.test",
        "SERVER_PORT": "443",
        "wsgi.url_scheme": "https",
        "wsgi.input": io.BytesIO(),
    }
    for name, value in HEADERS:
        base["HTTP_" + name.upper().replace("-", "_")] = value
    if cookie:
        base["HTTP_COOKIE"] = f"cart=abc; theme=dark; {cookie}"

    def start_response(status: str, headers: list[tuple[str, str]], exc: Any = None) -> None:
        return None

    def run(n: int) -> float:
        start = time.perf_counter()
        for _ in range(n):
            result = app(dict(base), start_response)
            for _chunk in result:
                pass
            result.close()
        return (time.perf_counter() - start) / n

    return run


def receiver() -> Callable[[], Awaitable[dict[str, Any]]]:
    """One request's ``receive``: the empty body, then nothing until Django, which listens
    for a disconnect while it answers, stops listening."""
    sent = False
    never = asyncio.Event()

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await never.wait()
        return {"type": "http.disconnect"}

    return receive


def asgi_runner(app: Any, route: str, cookie: str | None) -> Callable[[int], Awaitable[float]]:
    headers = [(name.encode(), value.encode()) for name, value in HEADERS]
    if cookie:
        headers.append((b"cookie", f"cart=abc; theme=dark; {cookie}".encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "https",
        "path": route,
        "raw_path": route.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "server": ("shop.test", 443),
        "client": ("127.0.0.1", 50000),
    }

    async def send(message: dict[str, Any]) -> None:
        return None

    async def run(n: int) -> float:
        start = time.perf_counter()
        for _ in range(n):
            await app(dict(scope), receiver(), send)
        return (time.perf_counter() - start) / n

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests per round")
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()

    consent, session = consent_cookie(), session_cookie()
    variants = {  # name: (middleware, route, cookie)
        "bare": ([], "/", None),
        "session": ([SESSION], "/cart", session),
        "consent_read": ([CONSENT], "/mode", consent),
        "consent": ([CONSENT], "/", consent),
    }
    wsgi = {
        name: wsgi_runner(handler("wsgi", middleware), route, cookie)
        for name, (middleware, route, cookie) in variants.items()
    }
    asgi = {
        name: asgi_runner(handler("asgi", middleware), "/async" + route, cookie)
        for name, (middleware, route, cookie) in variants.items()
    }
    best: dict[str, float] = {}

    async def asgi_round() -> None:
        for name, run in asgi.items():
            best["asgi " + name] = min(best.get("asgi " + name, float("inf")), await run(n))

    n = args.requests
    for _ in range(args.rounds):
        for name, run_wsgi in wsgi.items():
            best["wsgi " + name] = min(best.get("wsgi " + name, float("inf")), run_wsgi(n))
        asyncio.run(asgi_round())

    print(f"{args.rounds} rounds of {n} requests; fastest round's mean per request")
    for name, seconds in best.items():
        print(f"  {name:<18} {seconds * 1e6:8.2f} us")
    for kind in ("wsgi", "asgi"):
        bare = best[f"{kind} bare"]
        session_added = best[f"{kind} session"] - bare
        read_added = best[f"{kind} consent_read"] - bare
        consent_added = best[f"{kind} consent"] - bare
        print(f"{kind.upper()} SessionMiddleware adds {session_added * 1e6:8.2f} us per request")
        print(
            f"{kind.upper()} ConsentMiddleware adds {read_added * 1e6:8.2f} us (the view reads it)"
        )
        print(
            f"{kind.upper()} ratio (consent_read - bare) / (session - bare) = "
            f"{read_added / session_added:.3f}"
        )
        print(
            f"{kind.upper()} ratio (consent - bare) / (session - bare) = "
            f"{consent_added / session_added:.3f}"
        )


if __name__ == "__main__":
    main()
