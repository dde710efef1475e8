"""Consent events: how a choice becomes an event, and where the events go."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from consent_middleware import ConsentPolicy
from consent_middleware.core.codec import ConsentState
from consent_middleware.core.context import PersonalisationContext
from consent_middleware.ledger.events import Kind, Method
from consent_middleware.web.options import ConsentOptions
from consent_middleware.web.records import ConsentRecords

from .conftest import KEY

POLICY = ConsentPolicy.default()
EVERYTHING = POLICY.grant(POLICY.accept_all_ids)


def decided(granted: frozenset[str]) -> PersonalisationContext:
    return PersonalisationContext(POLICY, ConsentState("id-1", granted, 1_700_000_000))


@pytest.fixture
def records(tmp_path: Path) -> Iterator[ConsentRecords]:
    options = ConsentOptions(
        secret_keys=[KEY], ledger=f"sqlite:///{tmp_path}/ledger.db", languages=["fr"]
    )
    records = ConsentRecords.open(options, POLICY)
    yield records
    assert records.recorder is not None
    records.recorder.close()
    records.recorder.ledger.close()


def test_an_event_records_the_choice_against_the_previous_one(records: ConsentRecords) -> None:
    state = ConsentState("id-1", POLICY.required_ids, 1_700_000_100)
    event = records.event(decided(EVERYTHING), state, Method.BANNER)
    assert event.consent_id == "id-1"
    assert event.kind == Kind.WITHDRAWN
    assert event.granted == tuple(sorted(POLICY.required_ids))
    assert set(event.refused) == {p.id for p in POLICY.optional}
    # The language the context showed (one made without the middleware shows English).
    assert (event.language, event.policy_version) == ("en", POLICY.version)
    assert records.gpc_event(decided(EVERYTHING), state).language == "fr"


def test_a_gpc_withdrawal_has_the_same_id_in_every_process(tmp_path: Path) -> None:
    withdrawn = ConsentState("id-1", POLICY.required_ids, 1_700_000_000)
    ctx = decided(EVERYTHING)
    first = ConsentRecords(POLICY, "en").gpc_event(ctx, withdrawn)
    second = ConsentRecords(POLICY, "en").gpc_event(ctx, withdrawn)
    assert first.event_id == second.event_id
    assert first.method == Method.GPC


def test_a_replayed_gpc_withdrawal_is_recorded_once(records: ConsentRecords) -> None:
    ctx = decided(EVERYTHING)
    withdrawn = ConsentState("id-1", POLICY.required_ids, 1_700_000_000)
    for _ in range(3):
        records.record_gpc(ctx, withdrawn)
    history, complete = records.history("id-1")
    assert complete
    assert [e.method for e in history] == [Method.GPC]


def test_a_kept_choice_is_in_the_history(records: ConsentRecords) -> None:
    state = ConsentState("id-2", EVERYTHING, 1_700_000_000)
    assert records.keep(records.event(PersonalisationContext(POLICY), state, Method.API))
    history, complete = records.history("id-2")
    assert complete and [e.kind for e in history] == [Kind.GIVEN]
    assert records.erase("id-2", pseudonymise=False) == 1
    assert records.history("id-2") == ([], True)


def test_without_a_ledger_choices_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="consent_middleware"):
        records = ConsentRecords.open(ConsentOptions(secret_keys=[KEY]), POLICY)
        state = ConsentState("id-3", EVERYTHING, 1_700_000_000)
        assert records.keep(records.event(PersonalisationContext(POLICY), state, Method.API))
    assert "consent choices are not being recorded" in caplog.text
    assert "consent given (api)" in caplog.text
    assert records.history("id-3") == ([], True)
    assert records.erase("id-3", pseudonymise=False) == 0
