from __future__ import annotations

import pytest

from consent_middleware.core.gpc import gpc_enabled


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        pytest.param([], False, id="absent"),
        pytest.param(["1"], True, id="one"),
        pytest.param([" 1 "], True, id="whitespace"),
        pytest.param(["0"], False, id="zero"),
        pytest.param(["true"], False, id="true-is-not-1"),
        pytest.param([""], False, id="empty"),
        pytest.param(["11"], False, id="eleven"),
        pytest.param(["1.0"], False, id="float"),
        pytest.param(["0", "1"], True, id="repeated-any-one"),
        pytest.param(["0", "0"], False, id="repeated-zeros"),
        pytest.param(["0, 1"], True, id="folded"),
        pytest.param(["0, true"], False, id="folded-no-one"),
    ],
)
def test_gpc_values(values: list[str], expected: bool) -> None:
    assert gpc_enabled(values) is expected
