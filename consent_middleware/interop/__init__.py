"""Working beside other consent managers and Google's tags.

- Sources for ``external=[...]``: :class:`OneTrust`, :class:`Cookiebot` and :class:`TCF`
  read the cookie of a consent manager the shop already runs, so that a visitor without a
  consent cookie of ours gets the grants chosen there (our own cookie, when valid, always
  wins). Subclass :class:`ExternalSource` for another manager.
- ``decode_tc_string`` turns an ``euconsent-v2`` value into a :class:`TCString`; anything
  malformed raises :class:`TCStringError`, a ``ValueError``.
"""

from __future__ import annotations

from ..core.cookiebot import DEFAULT_COOKIEBOT_CATEGORIES, Cookiebot
from ..core.exceptions import TCStringError
from ..core.external import ExternalDecision, ExternalSource
from ..core.onetrust import DEFAULT_ONETRUST_GROUPS, OneTrust
from ..core.tc_string import (
    MAX_TC_STRING_LENGTH,
    PublisherRestriction,
    PublisherTC,
    RestrictionType,
    TCString,
    decode_tc_string,
)
from ..core.tcf_source import DEFAULT_TCF_PURPOSES, TCF

__all__ = [
    "DEFAULT_COOKIEBOT_CATEGORIES",
    "DEFAULT_ONETRUST_GROUPS",
    "DEFAULT_TCF_PURPOSES",
    "MAX_TC_STRING_LENGTH",
    "TCF",
    "Cookiebot",
    "ExternalDecision",
    "ExternalSource",
    "OneTrust",
    "PublisherRestriction",
    "PublisherTC",
    "RestrictionType",
    "TCString",
    "TCStringError",
    "decode_tc_string",
]
