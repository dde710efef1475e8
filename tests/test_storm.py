"""The hostile-input storm, bounded for the suite: random headers, cookies (valid,
truncated, tampered, stale), bodies, paths and methods through the raw ASGI and WSGI
middleware. ``benchmarks/storm.py`` runs the same generator for 100,000+ requests."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence
from typing import TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .storm import ADAPTERS, Pools, Target, check, hostile_request
from .test_examples import benchmark

T = TypeVar("T")
POOLS = Pools.make(int(time.time()))


class HypothesisChooser:
    """The storm's choices drawn by Hypothesis, so that a failure shrinks to a small one."""

    def __init__(self, data: st.DataObject) -> None:
        self.data = data

    def integer(self, low: int, high: int) -> int:
        return self.data.draw(st.integers(low, high))

    def pick(self, options: Sequence[T]) -> T:
        return self.data.draw(st.sampled_from(options))

    def text(self, alphabet: str, longest: int) -> str:
        return self.data.draw(st.text(alphabet, max_size=longest))


@pytest.fixture(scope="module")
def targets() -> Iterator[dict[str, Target]]:
    made = {adapter: Target(adapter) for adapter in ADAPTERS}
    yield made
    for target in made.values():
        target.close()


@pytest.mark.parametrize("adapter", ADAPTERS)
@settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_no_hostile_request_gets_a_5xx_a_grant_or_a_frame(
    targets: dict[str, Target], adapter: str, data: st.DataObject
) -> None:
    request = hostile_request(HypothesisChooser(data), POOLS)
    assert check(targets[adapter], request, POOLS) == [], request


def test_storm_script_prints_its_counts() -> None:
    output = benchmark("storm.py", "--requests", "400", "--seed", "3")
    counts = re.findall(
        r"^(asgi|wsgi): requests (\d+), 5xx 0, wrong grants 0, unframed 0$", output, re.M
    )
    assert counts == [("asgi", "200"), ("wsgi", "200")], output
    assert re.search(r"^total: requests 400, failures 0$", output, re.M), output
