"""IAB TCF TC strings (the ``euconsent-v2`` cookie of a TCF CMP), decoded into a frozen record.

A TC string is one or more base64url segments joined by ``.``: the core segment first, then
at most one each of DisclosedVendors, AllowedVendors and PublisherTC. Version 2 of the
string serves every TCF policy from 2.0 to 2.3 (``policy_version`` 2 for TCF 2.0 and 2.1,
4 for 2.2, higher for later policies); version 1 strings (TCF v1.1) are refused.

What counts as malformed, so that a caller can treat any :class:`TCStringError` as "no
decision":

- a segment too short for the fields it must hold (a truncated string), an empty segment,
  a character outside the base64url alphabet, a version other than 2;
- a segment after the core of a type other than 1, 2 or 3, or twice the same type;
- letters of ConsentLanguage or PublisherCC outside A-Z, vendor id 0, a range entry that
  ends before it starts, a publisher restriction for purpose 0 or of type 3 (undefined).

The bits after the last field of a segment are padding and are not read, so a string cut
inside that padding, or cut exactly at a ``.``, is still a valid string (the latter with
fewer segments): the format cannot tell those cuts apart from a complete string.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import IntEnum

from .exceptions import TCStringError
from .tc_bits import BitReader

__all__ = [
    "MAX_TC_STRING_LENGTH",
    "MAX_VENDOR_IDS_FROM_RANGES",
    "PublisherRestriction",
    "PublisherTC",
    "RestrictionType",
    "TCString",
    "TCStringError",
    "decode_tc_string",
]

#: Longer strings are refused unread. A browser keeps at most 4 KB a cookie, so a real
#: ``euconsent-v2`` is far shorter (a typical one with a thousand vendors is under 1 KB);
#: 32 KB leaves room for strings passed by other means while bounding the work a hostile
#: one can ask for (a range entry of 33 bits can name 65535 vendor ids).
MAX_TC_STRING_LENGTH = 32 * 1024
#: Range entries of one string may name at most this many vendor ids in all (after
#: merging overlaps): every 16-bit id twice over, while the Global Vendor List holds a few
#: thousand vendors. It bounds the sets a short hostile string can make us build.
MAX_VENDOR_IDS_FROM_RANGES = 2 * 65535

_CORE = "core"
_SEGMENTS = {1: "DisclosedVendors", 2: "AllowedVendors", 3: "PublisherTC"}
_MAX_SEGMENTS = 1 + len(_SEGMENTS)
_VENDOR_FIELDS = {
    section: (f"{section}.MaxVendorId", f"{section}.IsRangeEncoding", f"{section}.BitField")
    for section in ("VendorConsents", "VendorLegitimateInterests", *_SEGMENTS.values())
}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class RestrictionType(IntEnum):
    """What a publisher restriction does to the vendors it names for its purpose."""

    NOT_ALLOWED = 0
    REQUIRE_CONSENT = 1
    REQUIRE_LI = 2


@dataclass(frozen=True, slots=True)
class PublisherRestriction:
    """The publisher's restriction of ``purpose_id`` for ``vendors``.

    Restrictions of the string with the same purpose and type are merged into one; a
    restriction naming no vendor has no effect and is left out.
    """

    purpose_id: int
    restriction_type: RestrictionType
    vendors: frozenset[int]


@dataclass(frozen=True, slots=True)
class PublisherTC:
    """The PublisherTC segment: the publisher's own purposes and its custom purposes.

    Custom purposes are numbered 1 to ``num_custom_purposes``.
    """

    purposes_consent: frozenset[int]
    purposes_li: frozenset[int]
    num_custom_purposes: int
    custom_purposes_consent: frozenset[int]
    custom_purposes_li: frozenset[int]


@dataclass(frozen=True, slots=True)
class TCString:
    """A decoded TC string of version 2.

    Purposes, special features and vendors are sets of their numbers (purpose 1 is
    "store and/or access information on a device"). ``created`` and ``last_updated`` are
    UTC, to the tenth of a second the string holds. ``purposes_li`` and ``vendor_li`` are
    legitimate-interest transparency: not consent. The optional segments are ``None`` when
    the string does not carry them, which is not the same as carrying them empty.

    A TC string is written by a CMP in the browser and signed by nobody: treat it as what
    the visitor's browser claims, not as proof of consent.
    """

    version: int
    created: datetime
    last_updated: datetime
    cmp_id: int
    cmp_version: int
    consent_screen: int
    consent_language: str
    vendor_list_version: int
    policy_version: int
    is_service_specific: bool
    use_non_standard_texts: bool
    special_feature_optins: frozenset[int]
    purposes_consent: frozenset[int]
    purposes_li: frozenset[int]
    purpose_one_treatment: bool
    publisher_cc: str
    vendor_consents: frozenset[int]
    vendor_li: frozenset[int]
    publisher_restrictions: tuple[PublisherRestriction, ...] = ()
    disclosed_vendors: frozenset[int] | None = None
    allowed_vendors: frozenset[int] | None = None
    publisher_tc: PublisherTC | None = None


def decode_tc_string(s: str) -> TCString:
    """Decode the TC string ``s`` (version 2, any TCF policy from 2.0 to 2.3).

    Raises :class:`TCStringError` (a ``ValueError``) for anything that is not a complete
    version 2 string, naming the segment, field and bit; no other exception escapes,
    whatever ``s`` holds. Strings longer than :data:`MAX_TC_STRING_LENGTH` are refused
    unread.
    """
    if not isinstance(s, str):
        raise TCStringError(f"a TC string is a str, not {type(s).__name__}")
    if not s:
        raise TCStringError("the TC string is empty")
    if len(s) > MAX_TC_STRING_LENGTH:
        raise TCStringError(
            f"the TC string has {len(s)} characters, more than the {MAX_TC_STRING_LENGTH} accepted"
        )
    texts = s.split(".")
    if len(texts) > _MAX_SEGMENTS:
        raise TCStringError(
            f"the TC string has {len(texts)} segments; version 2 has at most {_MAX_SEGMENTS}"
        )
    for number, text in enumerate(texts, 1):
        if not text:
            raise TCStringError(f"segment {number} of the TC string is empty")

    r = BitReader(texts[0], _CORE, ids_left=MAX_VENDOR_IDS_FROM_RANGES)
    version = r.read_int(6, "Version")
    if version != 2:
        raise r.error(_version_problem(version), "Version", 0)
    created = _datetime(r.read_int(36, "Created"))
    last_updated = _datetime(r.read_int(36, "LastUpdated"))
    cmp_id = r.read_int(12, "CmpId")
    cmp_version = r.read_int(12, "CmpVersion")
    consent_screen = r.read_int(6, "ConsentScreen")
    consent_language = _letters(r, "ConsentLanguage")
    vendor_list_version = r.read_int(12, "VendorListVersion")
    policy_version = r.read_int(6, "TcfPolicyVersion")
    is_service_specific = r.read_bool("IsServiceSpecific")
    use_non_standard_texts = r.read_bool("UseNonStandardTexts")
    special_feature_optins = r.read_bitfield(12, "SpecialFeatureOptIns")
    purposes_consent = r.read_bitfield(24, "PurposesConsent")
    purposes_li = r.read_bitfield(24, "PurposesLITransparency")
    purpose_one_treatment = r.read_bool("PurposeOneTreatment")
    publisher_cc = _letters(r, "PublisherCC")
    vendor_consents = _read_vendors(r, "VendorConsents")
    vendor_li = _read_vendors(r, "VendorLegitimateInterests")
    publisher_restrictions = _read_restrictions(r)

    vendors: dict[str, frozenset[int]] = {}
    publisher_tc: PublisherTC | None = None
    ids_left = r.ids_left
    for number, text in enumerate(texts[1:], 2):
        r = BitReader(text, f"segment {number}", ids_left=ids_left)
        kind = r.read_int(3, "SegmentType")
        name = _SEGMENTS.get(kind)
        if name is None:
            what = "a second core segment" if kind == 0 else f"unknown segment type {kind}"
            raise r.error(what + " after the core", "SegmentType", 0)
        if name in vendors or (name == "PublisherTC" and publisher_tc is not None):
            raise r.error(f"a second {name} segment", "SegmentType", 0)
        r.segment = name
        if name == "PublisherTC":
            publisher_tc = _read_publisher_tc(r)
        else:
            vendors[name] = _read_vendors(r, name)
        ids_left = r.ids_left

    return TCString(
        version=version,
        created=created,
        last_updated=last_updated,
        cmp_id=cmp_id,
        cmp_version=cmp_version,
        consent_screen=consent_screen,
        consent_language=consent_language,
        vendor_list_version=vendor_list_version,
        policy_version=policy_version,
        is_service_specific=is_service_specific,
        use_non_standard_texts=use_non_standard_texts,
        special_feature_optins=special_feature_optins,
        purposes_consent=purposes_consent,
        purposes_li=purposes_li,
        purpose_one_treatment=purpose_one_treatment,
        publisher_cc=publisher_cc,
        vendor_consents=vendor_consents,
        vendor_li=vendor_li,
        publisher_restrictions=publisher_restrictions,
        disclosed_vendors=vendors.get("DisclosedVendors"),
        allowed_vendors=vendors.get("AllowedVendors"),
        publisher_tc=publisher_tc,
    )


def _version_problem(version: int) -> str:
    if version == 1:
        return "version 1 TC strings (TCF v1.1) are not supported, only version 2"
    # A segment's 3-bit type sits where the core's version begins.
    segment = _SEGMENTS.get(version >> 3)
    if segment is not None:
        return f"the core segment must come first, this string starts with {segment}"
    return f"version {version} is not supported, only version 2"


def _datetime(deciseconds: int) -> datetime:
    return _EPOCH + timedelta(microseconds=deciseconds * 100_000)


def _letters(r: BitReader, field: str) -> str:
    bit = r.pos
    value = r.read_int(12, field)
    first, second = value >> 6, value & 63
    if first > 25 or second > 25:
        raise r.error(f"letter values {first}, {second} are not both A-Z (0-25)", field, bit)
    return chr(65 + first) + chr(65 + second)


def _read_vendors(r: BitReader, section: str) -> frozenset[int]:
    max_id_field, encoding_field, bitfield_field = _VENDOR_FIELDS[section]
    max_id = r.read_int(16, max_id_field)
    if r.read_bool(encoding_field):
        return r.read_ranges(section)
    return r.read_bitfield(max_id, bitfield_field)


def _read_restrictions(r: BitReader) -> tuple[PublisherRestriction, ...]:
    count = r.read_int(12, "NumPubRestrictions")
    vendors: dict[tuple[int, int], frozenset[int]] = {}
    for number in range(1, count + 1):
        entry = f"PubRestrictionEntry {number} of {count}"
        bit = r.pos
        purpose_id = r.read_int(6, f"{entry}.PurposeId")
        kind = r.read_int(2, f"{entry}.RestrictionType")
        if purpose_id == 0:
            raise r.error("purpose 0 (purposes start at 1)", f"{entry}.PurposeId", bit)
        if kind == 3:
            raise r.error("restriction type 3 is undefined", f"{entry}.RestrictionType", bit + 6)
        ids = r.read_ranges(entry)
        if ids:
            key = (purpose_id, kind)
            vendors[key] = vendors[key] | ids if key in vendors else ids
    return tuple(
        PublisherRestriction(purpose_id, RestrictionType(kind), ids)
        for (purpose_id, kind), ids in sorted(vendors.items())
    )


def _read_publisher_tc(r: BitReader) -> PublisherTC:
    consent = r.read_bitfield(24, "PubPurposesConsent")
    li = r.read_bitfield(24, "PubPurposesLITransparency")
    count = r.read_int(6, "NumCustomPurposes")
    return PublisherTC(
        purposes_consent=consent,
        purposes_li=li,
        num_custom_purposes=count,
        custom_purposes_consent=r.read_bitfield(count, "CustomPurposesConsent"),
        custom_purposes_li=r.read_bitfield(count, "CustomPurposesLITransparency"),
    )
