"""Authenticated encryption of the store cookies: what opens, what never does."""

from __future__ import annotations

import base64

import pytest

from consent_middleware.core.sealing import Sealer, sealed_length

KEY = b"k" * 32 + b"-newest-test-key"
OLD_KEY = b"o" * 32 + b"-older-test-key"
DATA = b'{"viewed_products":["pregnancy-test"]}'
BOUND = b"session\ntest-consent-id-0001"


def _body(value: str) -> bytes:
    text = value.removeprefix("1.")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_sealed_data_opens_with_the_same_binding() -> None:
    sealer = Sealer([KEY], "store.session")
    value = sealer.seal(DATA, BOUND)
    assert sealer.open(value, BOUND) == DATA


def test_sealed_data_cannot_be_read() -> None:
    value = Sealer([KEY], "store.session").seal(DATA, BOUND)
    assert value.startswith("1.")
    assert b"pregnancy" not in _body(value)
    assert b"consent-id" not in _body(value)


def test_the_same_data_seals_differently_each_time() -> None:
    sealer = Sealer([KEY], "store.session")
    assert sealer.seal(DATA, BOUND) != sealer.seal(DATA, BOUND)


def test_another_binding_does_not_open() -> None:
    sealer = Sealer([KEY], "store.session")
    value = sealer.seal(DATA, BOUND)
    assert sealer.open(value, b"session\nanother-consent-id-02") is None
    assert sealer.open(value, b"persistent\ntest-consent-id-0001") is None


def test_another_purpose_does_not_open() -> None:
    value = Sealer([KEY], "store.session").seal(DATA, BOUND)
    assert Sealer([KEY], "store.persistent").open(value, BOUND) is None


def test_keys_rotate_newest_first() -> None:
    old_value = Sealer([OLD_KEY], "store.session").seal(DATA, BOUND)
    rotated = Sealer([KEY, OLD_KEY], "store.session")
    assert rotated.open(old_value, BOUND) == DATA
    new_value = rotated.seal(DATA, BOUND)
    assert Sealer([KEY], "store.session").open(new_value, BOUND) == DATA
    assert Sealer([OLD_KEY], "store.session").open(new_value, BOUND) is None
    assert Sealer([KEY], "store.session").open(old_value, BOUND) is None


def test_every_changed_character_is_refused() -> None:
    sealer = Sealer([KEY], "store.session")
    value = sealer.seal(DATA, BOUND)
    for position in range(len(value)):
        changed = "B" if value[position] != "B" else "C"
        tampered = value[:position] + changed + value[position + 1 :]
        opened = sealer.open(tampered, BOUND)
        # Only a change in base64's unused trailing bits leaves the same bytes.
        assert opened is None or _body(tampered) == _body(value), position


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("", id="empty"),
        pytest.param("1.", id="format-only"),
        pytest.param("1.AAAA", id="too-short"),
        pytest.param("1.!!!!", id="not-base64"),
        pytest.param("1.é" + "A" * 60, id="not-ascii"),
        pytest.param("2." + "A" * 60, id="other-format"),
        pytest.param("1." + "A" * 5000, id="oversized"),
        pytest.param(
            "eyJ2aWV3ZWRfcHJvZHVjdHMiOlsiZ3JlZW4tdGVhIl19.bL4u1xk0pYh6Z1m2sYbP0y6K3uOB0ZSO9dHjGZlYt0Q",
            id="signed-format",
        ),
    ],
)
def test_malformed_values_open_as_nothing(value: str) -> None:
    assert Sealer([KEY], "store.session").open(value, BOUND) is None


@pytest.mark.parametrize("size", [0, 1, 2, 3, 100, 2000])
def test_sealed_length_is_exact(size: int) -> None:
    assert len(Sealer([KEY], "p").seal(b"x" * size, b"")) == sealed_length(size)


def test_a_sealer_needs_a_key() -> None:
    with pytest.raises(ValueError, match="at least one secret key"):
        Sealer([], "store.session")
