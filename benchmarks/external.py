"""What reading another consent manager's cookie adds to a request, measured in one run.

    python benchmarks/external.py [--requests N] [--rounds R]

Every variant answers the same tiny Starlette page, which reads the mode, with requests
fed straight to the ASGI callable (no network). Variants run interleaved, round after
round, and each figure is the fastest round's mean, which keeps other load on the machine
out of the comparison. Each request carries a realistic ``Cookie`` header (analytics
cookies, a basket, OneTrust's alert cookie) and one consent manager's record:

- ``bare``: the page without any middleware;
- ``undecided``: the consent middleware without sources, for a visitor without a cookie of
  ours (the same way through the engine, minus the sources);
- ``onetrust``, ``cookiebot``, ``tcf``: the middleware with
  ``external=[OneTrust(), Cookiebot(), TCF()]``, the visitor deciding in that manager (the
  TCF source is asked last, after the other two found nothing);
- ``own_cookie``: the same middleware for a visitor with a valid cookie of ours, which
  always wins (the sources are not asked);
- ``tcf_cold``: more distinct TC strings than a source remembers: every request decodes.

Printed: each variant's mean, what it adds to ``bare``, and what the sources add to
``undecided``: the cost of reading an external cookie. The same difference is then taken
for the engine alone (``ConsentEngine.context()``, what every adapter calls), where less
else varies from round to round.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


from benchmarks.overhead import asgi_runner, starlette_app  # noqa: E402
from benchmarks.tc_string import typical  # noqa: E402
from consent_middleware import ConsentMiddleware, ConsentPolicy  # noqa: E402
from consent_middleware.core.codec import (  # noqa: E402
    ConsentCookieCodec,
    ConsentState,
    new_consent_id,
)
from consent_middleware.interop import TCF, Cookiebot, OneTrust  # noqa: E402
from consent_middleware.web.engine import ConsentEngine  # noqa: E402
from tests.tc_encoder import encode_tc_string  # noqa: E402

KEY = "benchmark-secret-key-of-more-than-32-bytes"
NOISE = (
    "_ga=GA1.1.1830418292.1732785284; _ga_Q1W2E3R4=GS1.1.1732785284.1.1.1732785290.0.0.0; "
    "cart=7f3a9c; theme=dark; OptanonAlertBoxClosed=2024-11-28T09:14:51.093Z"
)
ONETRUST = "OptanonConsent=" + (
    "isGpcEnabled=0&datestamp=Thu+Nov+28+2024+10%3A14%3A51+GMT%2B0100+(Central+European+"
    "Standard+Time)&version=202409.1.0&browserGpcFlag=0&isIABGlobal=false&hosts=&consentId="
    "6b1a7c3e-2f4d-4f6a-9c1e-0a2b3c4d5e6f&interactionCount=1&isAnonUser=1&landingPath="
    "NotLandingPage&groups=C0001%3A1%2CC0002%3A1%2CC0003%3A1%2CC0004%3A0&AwaitingReconsent="
    "false&geolocation=DE%3BBY"
)
COOKIEBOT = "CookieConsent=" + quote(
    "{stamp:'qLv3jbmWBtwBGsMS+E2s5v2JSQoZfPZH7hM0r5wx8BmBzRy5A0KPMQ==',necessary:true,"
    "preferences:true,statistics:true,marketing:false,method:'explicit',ver:2,"
    "utc:1732785284551,region:'de'}",
    safe="{}:",
)


def runner(app: Any, *cookies: str) -> Callable[[int], Awaitable[float]]:
    """Requests cycling through ``cookies``, each beside a visitor's usual other cookies."""
    return asgi_runner(app, *cookies, noise=NOISE)


def own_cookie(policy: ConsentPolicy) -> str:
    codec = ConsentCookieCodec(policy, [KEY])
    state = ConsentState(new_consent_id(), policy.grant(["personalisation"]), int(time.time()))
    return f"__Host-consent={codec.encode(state)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=4000, help="requests per round")
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()

    policy = ConsentPolicy.default()
    tc_string = "euconsent-v2=" + encode_tc_string(typical(), "shortest")
    # Distinct strings (another CMP version each), more than a source remembers.
    cold = [
        "euconsent-v2=" + encode_tc_string(replace(typical(), cmp_version=i), "shortest")
        for i in range(1500)
    ]

    def middleware(*sources: Any) -> ConsentMiddleware:
        return ConsentMiddleware(
            starlette_app(reads_consent=True),
            secret_keys=[KEY],
            policy=policy,
            external=list(sources),
        )

    with_sources = middleware(OneTrust(), Cookiebot(), TCF())
    variants = {
        "bare": runner(starlette_app(), ONETRUST),
        "undecided": runner(middleware(), ONETRUST),
        "onetrust": runner(with_sources, ONETRUST),
        "cookiebot": runner(with_sources, COOKIEBOT),
        "tcf": runner(with_sources, tc_string),
        "own_cookie": runner(with_sources, f"{own_cookie(policy)}; {ONETRUST}"),
        "tcf_cold": runner(middleware(OneTrust(), Cookiebot(), TCF()), *cold),
    }
    best: dict[str, float] = {}

    async def one_round() -> None:
        for name, run in variants.items():
            best[name] = min(best.get(name, float("inf")), await run(args.requests))

    for _ in range(args.rounds):
        asyncio.run(one_round())

    print(f"{args.rounds} rounds of {args.requests} requests; fastest round's mean per request")
    print(f"  TC string of {len(tc_string) - len('euconsent-v2=')} characters")
    for name, seconds in best.items():
        added = (seconds - best["bare"]) * 1e6
        print(f"  {name:<11} {seconds * 1e6:8.2f} us   ({added:+7.2f} us over bare)")
    for name in ("onetrust", "cookiebot", "tcf"):
        extra = (best[name] - best["undecided"]) * 1e6
        print(f"reading {name:<9} adds {extra:6.2f} us per request to the undecided case")

    # The engine alone: the context of each request, as the adapters ask for it.
    plain = ConsentEngine(policy=policy, secret_keys=[KEY])
    engine = ConsentEngine(
        policy=policy, secret_keys=[KEY], external=[OneTrust(), Cookiebot(), TCF()]
    )
    target = ("/", b"", False)
    # As sent: each request's header is a new string, decoded from the request's bytes.
    headers = {
        name: f"{NOISE}; {cookie}".encode("latin-1")
        for name, cookie in (("onetrust", ONETRUST), ("cookiebot", COOKIEBOT), ("tcf", tc_string))
    }
    fastest: dict[str, float] = {}
    for _ in range(args.rounds):
        for name, header in headers.items():
            for label, which in (("undecided", plain), (name, engine)):
                start = time.perf_counter()
                for _ in range(args.requests):
                    which.context(header.decode("latin-1"), (), "", target).mode  # noqa: B018
                mean = (time.perf_counter() - start) / args.requests
                key = f"{label}/{name}"
                fastest[key] = min(fastest.get(key, float("inf")), mean)
    for name in headers:
        extra = (fastest[f"{name}/{name}"] - fastest[f"undecided/{name}"]) * 1e6
        print(f"engine: reading {name:<9} adds {extra:6.2f} us to a context")


if __name__ == "__main__":
    main()
