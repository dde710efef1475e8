"""The demo shop under uvicorn on loopback, with and without the consent middleware.

    python benchmarks/http_load.py [--seconds 5] [--concurrency 16] [--rounds 2]

Both servers serve the same pages to a visitor who rejected everything: the middleware run
carries a real signed consent cookie; the baseline replaces the middleware with a fixed
context. Runs alternate, and each side's best round counts. Prints requests per second,
error counts (any non-2xx answer or failed connection) and the throughput ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).parent.parent
sys.path.insert(0, str(ROOT))

from consent_middleware.core.codec import ConsentCookieCodec, ConsentState  # noqa: E402
from examples.demo_shop.app import POLICY  # noqa: E402

KEY = "load-check-secret-key-" * 3
PAGES = ["/", "/products/sencha-green-tea", "/category/Tea", "/basket"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(without_consent: bool) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    command = [sys.executable, "-m", "examples.demo_shop", "--port", str(port)]
    if without_consent:
        command.append("--without-consent")
    ledger = Path(tempfile.mkdtemp(prefix="consent-load-")) / "consent.db"
    env = {**os.environ, "CONSENT_SECRET_KEY": KEY, "CONSENT_LEDGER": f"sqlite:///{ledger}"}
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(url + "/", timeout=1)
            return process, url
        except httpx.TransportError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the demo shop did not start") from None
            time.sleep(0.1)


async def load(url: str, cookie: str, seconds: float, concurrency: int) -> tuple[float, int]:
    """Requests answered per second and errors seen in ``seconds`` of ``concurrency`` clients."""
    done = errors = 0
    started = time.monotonic()
    stop = started + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=10) as client:

        async def worker(offset: int) -> None:
            nonlocal done, errors
            i = offset
            # At least one request each, however busy the machine.
            while True:
                try:
                    response = await client.get(PAGES[i % len(PAGES)], headers={"Cookie": cookie})
                    if response.status_code >= 300:
                        errors += 1
                except httpx.HTTPError:
                    errors += 1
                done += 1
                i += 1
                if time.monotonic() >= stop:
                    break

        await asyncio.gather(*(worker(n) for n in range(concurrency)))
    return done / (time.monotonic() - started), errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    codec = ConsentCookieCodec(POLICY, [KEY])
    rejected = ConsentState("load-check-consent-id", POLICY.grant([]), int(time.time()))
    cookie = f"consent={codec.encode(rejected)}; basket=sencha-green-tea"
    results: dict[str, list[tuple[float, int]]] = {"without middleware": [], "with middleware": []}
    for _ in range(args.rounds):
        for label, without in (("without middleware", True), ("with middleware", False)):
            process, url = start(without)
            try:
                asyncio.run(load(url, cookie, 0.5, args.concurrency))  # warm up
                rate, errors = asyncio.run(load(url, cookie, args.seconds, args.concurrency))
            finally:
                process.terminate()
                process.wait(timeout=10)
            results[label].append((rate, errors))

    print(f"{args.rounds} rounds of {args.seconds:g} s, {args.concurrency} clients, pages {PAGES}")
    best = {}
    for label, runs in results.items():
        rate = max(r for r, _ in runs)
        total_errors = sum(e for _, e in runs)
        best[label] = rate
        print(f"  {label:<19} {rate:8.1f} requests/s (best round), errors: {total_errors}")
    ratio = best["with middleware"] / best["without middleware"]
    print(f"ratio with / without middleware = {ratio:.3f}")


if __name__ == "__main__":
    main()
