"""Regions and the rule set each one follows: ``opt_in``, ``opt_out`` or ``notice``.

A region is an ISO 3166 code: a country (``"DE"``) or a subdivision (``"US-CA"``). The
policy maps regions to rule sets; anything unlisted, and an unknown region, follows
``opt_in``, the strictest. Nothing here guesses a region: the shop names it (a header its
CDN sets, or a function of its own), and a value that is not an ISO 3166 code is unknown.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache

from .exceptions import ConfigurationError

__all__ = [
    "DEFAULT_OPT_IN_REGIONS",
    "DEFAULT_OPT_OUT_REGIONS",
    "COUNTRIES",
    "RegionRules",
    "RuleSet",
    "region_code",
]


class RuleSet(StrEnum):
    """What a region's law asks of the shop before a shopper has chosen."""

    #: Nothing optional until the shopper chooses (GDPR, UK GDPR, Swiss FADP, ePrivacy).
    OPT_IN = "opt_in"
    #: Purposes declared ``opt_out_allowed`` start granted, with a notice and a "Do Not
    #: Sell or Share" link; Global Privacy Control withdraws them (US state laws).
    OPT_OUT = "opt_out"
    #: Purposes declared ``opt_out_allowed`` start granted, with a notice for information.
    NOTICE = "notice"


_ASSIGNED = """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO
    BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ
    DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP
    GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG
    KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML
    MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE
    PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL
    SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM
    US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
"""
#: Every country code ISO 3166-1 assigns (alpha-2). CDNs' own values, such as Cloudflare's
#: ``XX`` (unknown) and ``T1`` (Tor), are not among them and read as an unknown region.
COUNTRIES = frozenset(_ASSIGNED.split())

#: The EU, the rest of the EEA, the United Kingdom and Switzerland: opt-in, as everywhere
#: unlisted; listed all the same, so that the default says so.
_EU = "AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK"
DEFAULT_OPT_IN_REGIONS = (*_EU.split(), "IS", "LI", "NO", "GB", "CH")
#: US states whose privacy laws let a shop use personal data until the shopper opts out of
#: its sale, sharing or targeted advertising, honouring Global Privacy Control: California,
#: Colorado, Connecticut, Delaware, Indiana, Iowa, Kentucky, Maryland, Minnesota, Montana,
#: Nebraska, New Hampshire, New Jersey, Oregon, Rhode Island, Tennessee, Texas, Utah and
#: Virginia (in force by 2026).
_OPT_OUT_STATES = "CA CO CT DE IN IA KY MD MN MT NE NH NJ OR RI TN TX UT VA"
DEFAULT_OPT_OUT_REGIONS = tuple(f"US-{state}" for state in _OPT_OUT_STATES.split())

_CODE = re.compile(r"([A-Z]{2})(?:-([A-Z0-9]{1,3}))?\Z")
_SUBDIVISION = re.compile(r"[A-Z0-9]{1,3}\Z")
# Longer header values are not codes: refused unread.
_MAX_VALUE = 16


def _country_and_subdivision(value: str) -> tuple[str, str | None] | None:
    match = _CODE.match(value.strip().upper())
    if match is None or match[1] not in COUNTRIES:
        return None
    return match[1], match[2]


@lru_cache(maxsize=1024)
def region_code(value: str | None, subdivision: str | None = None) -> str | None:
    """The region of a header's value: an ISO 3166-1 country (``"DE"``), or a country and
    one of its subdivisions (``"US-CA"``), upper case; ``None`` when it is not one.

    ``subdivision`` is a second header's value, the subdivision alone (``"CA"``, as
    CloudFront-Viewer-Country-Region sends it) or with its country (``"US-CA"``). One that
    is not a subdivision of the country is left out: the country alone remains.
    """
    if not value or len(value) > _MAX_VALUE:
        return None
    found = _country_and_subdivision(value)
    if found is None:
        return None
    country, inner = found
    if subdivision and len(subdivision) <= _MAX_VALUE:
        part = subdivision.strip().upper()
        prefix, dash, rest = part.partition("-")
        if dash:
            part = rest if prefix == country else ""
        if _SUBDIVISION.match(part):
            inner = part
    return country if inner is None else f"{country}-{inner}"


def _codes(name: str, values: object) -> tuple[str, ...]:
    if isinstance(values, str) or not isinstance(values, Iterable):
        raise ConfigurationError(
            f"regions {name} must be a list of region codes, e.g. {name} = ['US-CA', 'US-VA']"
        )
    codes = []
    for value in values:
        found = _country_and_subdivision(value) if isinstance(value, str) else None
        if found is None:
            raise ConfigurationError(
                f"regions {name}: {value!r} is not an ISO 3166 country code (such as 'DE') "
                "or a country and subdivision (such as 'US-CA')"
            )
        country, subdivision = found
        codes.append(country if subdivision is None else f"{country}-{subdivision}")
    return tuple(dict.fromkeys(codes))


@dataclass(frozen=True)
class RegionRules:
    """Which regions follow which rule set; everything unlisted follows ``opt_in``.

    Each entry is an ISO 3166 code, a country (``"US"``: all of it) or a subdivision
    (``"US-CA"``), which wins over its country. A region may be listed once. ``opt_in``
    needs listing only to make an exception within a country listed otherwise; the default
    lists the EU, the EEA, the UK and Switzerland all the same, to say so.
    """

    opt_out: Iterable[str] = ()
    notice: Iterable[str] = ()
    opt_in: Iterable[str] = ()
    _rules: Mapping[str, RuleSet] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        rules: dict[str, RuleSet] = {}
        for rule_set in (RuleSet.OPT_OUT, RuleSet.NOTICE, RuleSet.OPT_IN):
            codes = _codes(rule_set.value, getattr(self, rule_set.value))
            object.__setattr__(self, rule_set.value, codes)
            for code in codes:
                if code in rules:
                    raise ConfigurationError(
                        f"regions: {code!r} is listed under both {rules[code].value} and "
                        f"{rule_set.value}: keep it in one"
                    )
                rules[code] = rule_set
        object.__setattr__(self, "_rules", rules)

    @classmethod
    def default(cls) -> RegionRules:
        """The US states with opt-out laws as ``opt_out`` (:data:`DEFAULT_OPT_OUT_REGIONS`);
        the EU, the EEA, the UK, Switzerland and everywhere else ``opt_in``."""
        return cls(opt_out=DEFAULT_OPT_OUT_REGIONS, opt_in=DEFAULT_OPT_IN_REGIONS)

    @classmethod
    def of(cls, value: RegionRules | Mapping[str, Iterable[str]] | None) -> RegionRules:
        """Rules from a ``RegionRules``, a mapping in the shape of a policy file's
        ``[regions]`` table (``{"opt_out": ["US-CA"]}``), or ``None`` for the default."""
        if value is None:
            return cls.default()
        if isinstance(value, RegionRules):
            return value
        if not isinstance(value, Mapping):
            raise ConfigurationError(
                "regions must be a RegionRules or a mapping such as "
                "{'opt_out': ['US-CA'], 'notice': [...]}"
            )
        unknown = sorted(str(key) for key in value if key not in _RULE_SET_NAMES)
        if unknown:
            raise ConfigurationError(
                f"regions has unknown key(s) {', '.join(unknown)} "
                f"(allowed: {', '.join(sorted(_RULE_SET_NAMES))})"
            )
        return cls(**{str(key): codes for key, codes in value.items()})

    def rule_set(self, region: str | None) -> RuleSet:
        """The rule set of ``region`` (a code :func:`region_code` gave): its own entry, else
        its country's, else ``opt_in``. An unknown region (``None``) is ``opt_in``."""
        if region is None:
            return RuleSet.OPT_IN
        rules = self._rules
        found = rules.get(region)
        if found is None and len(region) > 2:
            found = rules.get(region[:2])
        return RuleSet.OPT_IN if found is None else found


_RULE_SET_NAMES = frozenset(rule_set.value for rule_set in RuleSet)
