"""Ledger throughput, a choice's added latency, and export time.

    python benchmarks/ledger.py [--events 20000] [--big 1000000]

Measures, in one run, for SQLite and (when CONSENT_TEST_POSTGRES_DSN names a server)
PostgreSQL: events per second made durable through the whole path the middleware uses
(``Recorder.keep`` from 8 threads, each event committed before it returns), the same with
the store down (the journal, each append fsynced), and batches written straight into the
store as the baseline; the latency a ledger adds to ``POST /consent`` (p50 and p99, against
the same request with no ledger); and the time to read one browser's history out of a
ledger holding ``--big`` events.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent.parent))

from consent_middleware.ledger.events import ConsentEvent  # noqa: E402
from consent_middleware.ledger.recorder import Recorder  # noqa: E402
from consent_middleware.ledger.sql import (  # noqa: E402
    COLUMNS,
    Ledger,
    LedgerUnavailable,
    event_to_row,
)
from consent_middleware.ledger.sqlite import SQLiteLedger  # noqa: E402

KEY = "ledger-benchmark-key-" * 3
THREADS = 32


def events(count: int, browsers: int) -> list[ConsentEvent]:
    now = time.time()
    return [
        ConsentEvent.new(
            consent_id=f"browser-{i % browsers:012d}",
            time=now - (count - i),
            policy_version="1",
            granted=["necessary", "analytics"],
            refused=["marketing", "personalisation"],
            method="banner",
            kind="given",
            language="en",
        )
        for i in range(count)
    ]


def kept(ledger: Any, spool: Path, batch: list[ConsentEvent]) -> float:
    """Events per second through ``Recorder.keep`` from several threads, as a server's
    worker threads call it; each event is durable when its call returns."""
    recorder = Recorder(ledger, spool)
    share = len(batch) // THREADS

    def keep(part: list[ConsentEvent]) -> None:
        for event in part:
            assert recorder.keep(event)

    threads = [
        threading.Thread(target=keep, args=(batch[n * share : (n + 1) * share],))
        for n in range(THREADS)
    ]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    recorder.close()
    return share * THREADS / elapsed


class Down:
    """A store that is unreachable: every event goes to the journal."""

    def write(self, events: object) -> int:
        raise LedgerUnavailable("store stopped")

    def __getattr__(self, name: str) -> Any:
        raise LedgerUnavailable("store stopped")


def direct(ledger: Ledger, batch: list[ConsentEvent]) -> float:
    start = time.perf_counter()
    for i in range(0, len(batch), 1000):
        ledger.write(batch[i : i + 1000])
    return len(batch) / (time.perf_counter() - start)


def postgres(dsn: str, schema: str) -> Ledger:
    import psycopg

    from consent_middleware.ledger.postgres import PostgresLedger

    with psycopg.connect(dsn, autocommit=True) as db:
        db.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        db.execute(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in dsn else "?"
    return PostgresLedger(f"{dsn}{separator}options=-csearch_path%3D{schema}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--big", type=int, default=1_000_000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="consent-ledger-bench-"))

    print(f"{args.events} events a run, {THREADS} threads")
    rows = [("SQLite", lambda name: SQLiteLedger(work / f"{name}.db"))]
    dsn = os.environ.get("CONSENT_TEST_POSTGRES_DSN")
    if dsn:
        rows.append(("PostgreSQL", lambda name: postgres(dsn, f"bench_{name}")))
    for label, make in rows:
        durable = kept(make("kept"), work / f"{label}-spool", events(args.events, 5000))
        straight = direct(make("direct"), events(args.events, 5000))
        print(f"  {label}, kept (durable on return):{durable:9.0f} events/s")
        print(f"  {label}, batches straight in:     {straight:9.0f} events/s")
    journal = kept(Down(), work / "down-spool", events(args.events // 4, 5000))
    print(f"  store down, journal (synced):     {journal:9.0f} events/s")
    if not dsn:
        print("  PostgreSQL: not measured (set CONSENT_TEST_POSTGRES_DSN)")

    baseline = choice_latency(None)
    print(f"  POST /consent without a ledger: p50 {baseline[0]:.2f} ms, p99 {baseline[1]:.2f} ms")
    targets = [("SQLite", f"sqlite:///{work / 'choices.db'}")]
    if dsn:
        postgres(dsn, "bench_choices").close()
        separator = "&" if "?" in dsn else "?"
        targets.append(("PostgreSQL", f"{dsn}{separator}options=-csearch_path%3Dbench_choices"))
    for label, url in targets:
        p50, p99 = choice_latency(url)
        print(
            f"  POST /consent, {label} ledger: p50 {p50:.2f} ms (+{p50 - baseline[0]:.2f}), "
            f"p99 {p99:.2f} ms (+{p99 - baseline[1]:.2f})"
        )

    big = SQLiteLedger(work / "big.db")
    big.write(events(1, 1))  # creates the schema
    database = sqlite3.connect(work / "big.db")
    now = time.time()
    rows = (
        event_to_row(
            ConsentEvent(
                f"{i:032x}",
                f"browser-{i % 200_000:012d}",
                now - i,
                "1",
                ("necessary", "analytics"),
                ("marketing",),
                "banner",
                "given",
                "en",
            )
        )
        for i in range(args.big)
    )
    start = time.perf_counter()
    values = ", ".join(["?"] * len(COLUMNS.split(",")))
    database.executemany(f"INSERT INTO consent_events ({COLUMNS}) VALUES ({values})", rows)
    database.commit()
    database.close()
    print(f"  filled a {args.big}-event ledger in {time.perf_counter() - start:.1f} s")
    timings = []
    for n in range(50):
        start = time.perf_counter()
        history = big.history(f"browser-{(n * 3911) % 200_000:012d}")
        timings.append(time.perf_counter() - start)
    timings.sort()
    print(
        f"  export of one browser's history ({len(history)} events) from {args.big} events: "
        f"median {timings[len(timings) // 2] * 1e3:.2f} ms, worst {timings[-1] * 1e3:.2f} ms "
        "(target 50 ms)"
    )

    print(
        f"  GET /consent/data from the {args.big}-event ledger: {download(work / 'big.db'):.2f} ms"
    )


def choice_latency(ledger: str | None, count: int = 400) -> tuple[float, float]:
    """p50 and p99 milliseconds of ``POST /consent`` (accept all), ASGI, one at a time."""
    import asyncio

    import httpx
    from starlette.applications import Starlette

    from consent_middleware import ConsentMiddleware

    app = ConsentMiddleware(Starlette(), secret_keys=[KEY], ledger=ledger)

    async def run() -> list[float]:
        timings = []
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://shop.test") as client:
            page = await client.get("/consent")
            token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
            for _ in range(count):
                start = time.perf_counter()
                response = await client.post(
                    "/consent",
                    data={"action": "accept_all", "csrf_token": token},
                    headers={"Origin": "https://shop.test"},
                )
                timings.append(time.perf_counter() - start)
                assert response.status_code == 303, response.status_code
                client.cookies.clear()
                client.cookies.update(page.cookies)
        return sorted(timings)

    timings = asyncio.run(run())
    if app.engine.recorder is not None:
        app.engine.recorder.close()
    return timings[len(timings) // 2] * 1e3, timings[int(len(timings) * 0.99)] * 1e3


def download(path: Path) -> float:
    """Median milliseconds of the whole download request, through the ASGI middleware."""
    import asyncio

    import httpx
    from starlette.applications import Starlette

    from consent_middleware import ConsentMiddleware, ConsentPolicy
    from consent_middleware.core.codec import ConsentCookieCodec, ConsentState

    policy = ConsentPolicy.default()
    app = ConsentMiddleware(
        Starlette(), policy=policy, secret_keys=[KEY], ledger=f"sqlite:///{path}"
    )
    state = ConsentState("browser-000000000042", policy.grant(["analytics"]), int(time.time()))
    cookie = f"__Host-consent={ConsentCookieCodec(policy, [KEY]).encode(state)}"

    async def run() -> list[float]:
        timings = []
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://shop.test") as client:
            for _ in range(21):
                start = time.perf_counter()
                response = await client.get("/consent/data", headers={"Cookie": cookie})
                timings.append(time.perf_counter() - start)
                assert response.status_code == 200 and response.json()["history"]
        return sorted(timings)

    timings = asyncio.run(run())
    app.engine.recorder.close()  # type: ignore[union-attr]
    return timings[len(timings) // 2] * 1e3


if __name__ == "__main__":
    main()
