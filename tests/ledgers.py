"""Ledgers for tests: SQLite always, PostgreSQL when CONSENT_TEST_POSTGRES_DSN names one."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from consent_middleware.ledger.events import ConsentEvent
from consent_middleware.ledger.sql import Ledger, LedgerUnavailable
from consent_middleware.ledger.sqlite import SQLiteLedger

POSTGRES_DSN = os.environ.get("CONSENT_TEST_POSTGRES_DSN")
KINDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def postgres_url(schema: str) -> str:
    """The test database, with every table in ``schema`` (so tests never share one)."""
    assert POSTGRES_DSN
    separator = "&" if "?" in POSTGRES_DSN else "?"
    return f"{POSTGRES_DSN}{separator}options=-csearch_path%3D{schema}"


@contextlib.contextmanager
def postgres_schema() -> Iterator[str]:
    import psycopg

    if not POSTGRES_DSN:
        pytest.skip("set CONSENT_TEST_POSTGRES_DSN to test the PostgreSQL ledger")
    schema = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_DSN, autocommit=True) as db:
        db.execute(f"CREATE SCHEMA {schema}")
    try:
        yield schema
    finally:
        with psycopg.connect(POSTGRES_DSN, autocommit=True) as db:
            db.execute(f"DROP SCHEMA {schema} CASCADE")


@contextlib.contextmanager
def make_ledger(kind: str, tmp_path: Path) -> Iterator[Ledger]:
    if kind == "sqlite":
        ledger: Ledger = SQLiteLedger(tmp_path / "ledger.db")
        yield ledger
        ledger.close()
        return
    from consent_middleware.ledger.postgres import PostgresLedger

    with postgres_schema() as schema:
        ledger = PostgresLedger(postgres_url(schema))
        yield ledger
        ledger.close()


def event(
    consent_id: str = "browser-one-000000", t: float = 1_800_000_000.0, **kw: object
) -> ConsentEvent:
    values: dict[str, object] = {
        "consent_id": consent_id,
        "time": t,
        "policy_version": "1",
        "granted": ["necessary", "analytics"],
        "refused": ["marketing"],
        "method": "banner",
        "kind": "given",
        "language": "en",
    }
    values.update(kw)
    return ConsentEvent.new(**values)  # type: ignore[arg-type]


class Switchable:
    """A ledger whose writes or erasures can be made to fail, as a stopped store's would."""

    def __init__(self, inner: Ledger) -> None:
        self.inner = inner
        self.down = False
        self.erase_down = False

    def write(self, events: list[ConsentEvent]) -> int:
        if self.down:
            raise LedgerUnavailable("store stopped")
        return self.inner.write(events)

    def erase(self, consent_id: str, *, pseudonymise: bool = False) -> int:
        if self.erase_down:
            raise LedgerUnavailable("store stopped")
        return self.inner.erase(consent_id, pseudonymise=pseudonymise)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)
