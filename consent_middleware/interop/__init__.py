"""Reading the consent that other consent managers recorded: IAB TCF TC strings.

``decode_tc_string`` turns an ``euconsent-v2`` value into a :class:`TCString`; anything
malformed raises :class:`TCStringError`, a ``ValueError``.
"""

from __future__ import annotations

from ..core.exceptions import TCStringError
from ..core.tc_string import (
    MAX_TC_STRING_LENGTH,
    PublisherRestriction,
    PublisherTC,
    RestrictionType,
    TCString,
    decode_tc_string,
)

__all__ = [
    "MAX_TC_STRING_LENGTH",
    "PublisherRestriction",
    "PublisherTC",
    "RestrictionType",
    "TCString",
    "TCStringError",
    "decode_tc_string",
]
