"""A ``Set-Cookie`` line's ``Expires`` date, read as a browser reads it (RFC 6265, 5.1.1).

Browsers do not read HTTP dates by the e-mail rules of :mod:`email.utils`: they pick a
time, a day, a month and a year out of the text in any order, read two-digit years 0-69 as
20xx, ignore time zones and give up on years before 1601. The cookie gate must see the date
the browser sees, or a cookie set for decades would pass for a deletion.
"""

from __future__ import annotations

import re
from calendar import timegm

__all__ = ["cookie_date"]

# Runs of anything but the delimiters of RFC 6265, 5.1.1: the date's tokens.
_TOKEN = re.compile(r"[^\x09\x20-\x2f\x3b-\x40\x5b-\x60\x7b-\x7e]+")
# What each token may be; the rest of a token after a non-digit is ignored.
_TIME = re.compile(r"([0-9]{1,2}):([0-9]{1,2}):([0-9]{1,2})(?:[^0-9]|$)")
_DAY = re.compile(r"([0-9]{1,2})(?:[^0-9]|$)")
_YEAR = re.compile(r"([0-9]{2,4})(?:[^0-9]|$)")
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAYS_IN = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


# The date every server writes (RFC 9110's IMF-fixdate), which the rules below read the same.
_USUAL = re.compile(
    r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), ([0-9]{2}) "
    r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) ([0-9]{4}) "
    r"([0-9]{2}):([0-9]{2}):([0-9]{2}) GMT\Z"
)


def cookie_date(text: str) -> float | None:
    """The Unix time of a cookie date, or ``None`` where a browser ignores the attribute."""
    usual = _USUAL.match(text)
    if usual is not None:
        day_text, month_text, *numbers = usual.groups()
        year, hour, minute, second = (int(number) for number in numbers)
        month = _MONTHS.index(month_text.lower()) + 1
        return _checked(year, month, int(day_text), (hour, minute, second))
    return _read(text)


def _read(text: str) -> float | None:
    """The general rules: each token is the first of time, day, month and year it can be."""
    clock = day = month = year = None
    for token in _TOKEN.findall(text):
        if clock is None and (found := _TIME.match(token)):
            clock = tuple(int(part) for part in found.groups())
        elif day is None and (found := _DAY.match(token)):
            day = int(found.group(1))
        elif month is None and token[:3].lower() in _MONTHS:
            month = _MONTHS.index(token[:3].lower()) + 1
        elif year is None and (found := _YEAR.match(token)):
            year = int(found.group(1))
    if clock is None or day is None or month is None or year is None:
        return None
    return _checked(year, month, day, clock)


def _checked(year: int, month: int, day: int, clock: tuple[int, ...]) -> float | None:
    """The Unix time of a date read, or ``None`` for one a browser refuses."""
    if 70 <= year <= 99:
        year += 1900
    elif year <= 69:
        year += 2000
    hour, minute, second = clock
    if year < 1601 or hour > 23 or minute > 59 or second > 59:
        return None
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    if not 1 <= day <= _DAYS_IN[month - 1] or (month == 2 and day == 29 and not leap):
        return None
    return float(timegm((year, month, day, hour, minute, second, 0, 0, 0)))
