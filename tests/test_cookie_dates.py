"""Cookie dates as browsers read them (RFC 6265, 5.1.1), not as e-mail dates."""

from __future__ import annotations

from calendar import timegm

import pytest

from consent_middleware.core.cookie_dates import cookie_date


def utc(*parts: int) -> float:
    return float(timegm((*parts, 0, 0, 0)))


@pytest.mark.parametrize(
    ("text", "when"),
    [
        ("Thu, 01 Jan 1970 00:00:00 GMT", utc(1970, 1, 1, 0, 0, 0)),
        ("Sun, 06 Nov 1994 08:49:37 GMT", utc(1994, 11, 6, 8, 49, 37)),
        ("Sunday, 06-Nov-94 08:49:37 GMT", utc(1994, 11, 6, 8, 49, 37)),
        ("Sun Nov  6 08:49:37 1994", utc(1994, 11, 6, 8, 49, 37)),
        ("06 NOVEMBER 1994 8:9:7", utc(1994, 11, 6, 8, 9, 7)),
        # Two-digit years: 70-99 are 19xx, 0-69 are 20xx.
        ("Wed, 01 Jan 69 00:00:00 GMT", utc(2069, 1, 1, 0, 0, 0)),
        ("Thu, 01 Jan 70 00:00:00 GMT", utc(1970, 1, 1, 0, 0, 0)),
        # The zone is not read: the time is taken as UTC.
        ("Sun, 06 Nov 1994 08:49:37 +1400", utc(1994, 11, 6, 8, 49, 37)),
        ("Thu, 29 Feb 2024 00:00:00 GMT", utc(2024, 2, 29, 0, 0, 0)),
        # The usual form is read by the same rules as any other.
        ("Thu, 01 Jan 0069 00:00:00 GMT", utc(2069, 1, 1, 0, 0, 0)),
        ("Thu, 01 Jan 0070 00:00:00 GMT", utc(1970, 1, 1, 0, 0, 0)),
        ("thu, 01 jan 2070 00:00:00 gmt", utc(2070, 1, 1, 0, 0, 0)),
    ],
)
def test_dates_browsers_read(text: str, when: float) -> None:
    assert cookie_date(text) == when


@pytest.mark.parametrize(
    "text",
    [
        "",
        "never",
        "1970-01-01T00:00:00Z",
        "Mon, 01 Jan 1600 00:00:00 GMT",
        "Thu, 01 Jan 1970 24:00:00 GMT",
        "Thu, 32 Jan 1970 00:00:00 GMT",
        "Fri, 31 Feb 1990 00:00:00 GMT",
        "Thu, 29 Feb 2023 00:00:00 GMT",
        "Thu, 01 Jan 1970",
        "Thu, 00 Jan 2070 00:00:00 GMT",
        "Sat, 01 Jan 1600 00:00:00 GMT",
    ],
)
def test_dates_browsers_ignore(text: str) -> None:
    assert cookie_date(text) is None
