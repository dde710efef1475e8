"""Working beside other consent managers and Google's tags.

- Sources for ``external=[...]``: :class:`OneTrust`, :class:`Cookiebot` and :class:`TCF`
  read the cookie of a consent manager the shop already runs, so that a visitor without a
  consent cookie of ours gets the grants chosen there (our own cookie, when valid, always
  wins). Subclass :class:`ExternalSource` for another manager.
- :class:`ConsentMode`: how the purposes granted become Google Consent Mode v2 states;
  ``{{ consent_mode_script() }}`` (Jinja2) and ``{% consent_mode_script %}`` (Django)
  print the calls.
- ``decode_tc_string`` turns an ``euconsent-v2`` value into a :class:`TCString`; anything
  malformed raises :class:`TCStringError`, a ``ValueError``.
"""

from __future__ import annotations

from ..core.consent_mode import CONSENT_MODE_KEYS, DEFAULT_CONSENT_MODE, ConsentMode
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
    "CONSENT_MODE_KEYS",
    "DEFAULT_CONSENT_MODE",
    "DEFAULT_COOKIEBOT_CATEGORIES",
    "DEFAULT_ONETRUST_GROUPS",
    "DEFAULT_TCF_PURPOSES",
    "MAX_TC_STRING_LENGTH",
    "TCF",
    "ConsentMode",
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
