"""Ledger throughput and export time.

    python benchmarks/ledger.py [--events 20000] [--big 1000000]

Measures, in one run: events per second written into SQLite (through the journal and the
background writer, as the middleware writes them, and straight into the store), the same
for PostgreSQL when CONSENT_TEST_POSTGRES_DSN names a server, and the time to read one
browser's history out of a ledger holding ``--big`` events.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent))

from consent_middleware.events import ConsentEvent  # noqa: E402
from consent_middleware.journal import Journal, LedgerWriter  # noqa: E402
from consent_middleware.ledger import COLUMNS, Ledger, event_to_row  # noqa: E402
from consent_middleware.ledger_sqlite import SQLiteLedger  # noqa: E402


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


def through_writer(ledger: Ledger, spool: Path, batch: list[ConsentEvent]) -> float:
    """Events per second from record() until the last one is in the store."""
    writer = LedgerWriter(ledger, Journal(spool))
    start = time.perf_counter()
    for event in batch:
        writer.record(event)
    writer.close()
    return len(batch) / (time.perf_counter() - start)


def direct(ledger: Ledger, batch: list[ConsentEvent]) -> float:
    start = time.perf_counter()
    for i in range(0, len(batch), 1000):
        ledger.write(batch[i : i + 1000])
    return len(batch) / (time.perf_counter() - start)


def postgres(dsn: str, schema: str) -> Ledger:
    import psycopg

    from consent_middleware.ledger_postgres import PostgresLedger

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

    print(f"{args.events} events a run")
    sqlite_writer = through_writer(
        SQLiteLedger(work / "a.db"), work / "a.spool", events(args.events, 5000)
    )
    sqlite_direct = direct(SQLiteLedger(work / "b.db"), events(args.events, 5000))
    print(f"  SQLite, journal and writer: {sqlite_writer:9.0f} events/s (target 5000)")
    print(f"  SQLite, straight to store:  {sqlite_direct:9.0f} events/s")
    dsn = os.environ.get("CONSENT_TEST_POSTGRES_DSN")
    if dsn:
        pg_writer = through_writer(
            postgres(dsn, "bench_a"), work / "c.spool", events(args.events, 5000)
        )
        pg_direct = direct(postgres(dsn, "bench_b"), events(args.events, 5000))
        print(f"  PostgreSQL, journal and writer: {pg_writer:9.0f} events/s (target 2000)")
        print(f"  PostgreSQL, straight to store:  {pg_direct:9.0f} events/s")
    else:
        print("  PostgreSQL: not measured (set CONSENT_TEST_POSTGRES_DSN)")

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
    database.executemany(
        f"INSERT INTO consent_events ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows
    )
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


def download(path: Path) -> float:
    """Median milliseconds of the whole download request, through the ASGI middleware."""
    import asyncio

    import httpx
    from starlette.applications import Starlette

    from consent_middleware import ConsentMiddleware, ConsentPolicy
    from consent_middleware.codec import ConsentCookieCodec, ConsentState

    key = "ledger-benchmark-key-" * 3
    policy = ConsentPolicy.default()
    app = ConsentMiddleware(
        Starlette(), policy=policy, secret_keys=[key], ledger=f"sqlite:///{path}"
    )
    state = ConsentState("browser-000000000042", policy.grant(["analytics"]), int(time.time()))
    cookie = f"__Host-consent={ConsentCookieCodec(policy, [key]).encode(state)}"

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
    app.engine.writer.close()  # type: ignore[union-attr]
    return timings[len(timings) // 2] * 1e3


if __name__ == "__main__":
    main()
