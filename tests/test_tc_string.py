"""The TC string decoder: the spec's examples, both vendor encodings, every way to be wrong."""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from consent_middleware import ConsentError
from consent_middleware.interop import (
    MAX_TC_STRING_LENGTH,
    PublisherRestriction,
    PublisherTC,
    RestrictionType,
    TCString,
    TCStringError,
    decode_tc_string,
)
from tests.tc_encoder import (
    BASE64URL,
    BitWriter,
    VendorEncoding,
    core_writer,
    encode_tc_string,
    vendors_segment,
)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# Example strings published in the IAB TCF v2 specification and the @iabtcf documentation.
SPEC_2025 = "CQSbk4AQSbk4ANwAAAENAwCgAAAAAAAAAAYgACPAAAAA.IDKQA4AAgAKAGQAygAAA"
SPEC_2020 = (
    "COvFyGBOvFyGBAbAAAENAPCAAOAAAAAAAAAAAEEUACCKAAA.IFoEUQQgAIQwgIwQABAEAAAAOIAACAIAAAAQAIAg"
    "EAACEAAAAAgAQBAAAAAAAGBAAgAAAAAAAFAAECAAAgAAQARAEQAAAAAJAAIAAgAAAYQEAAAQmAgBC3ZAYzUw"
)
IABTCF_CLI = "COrVd1pOrVd1pACABCENAHCAAAAAAAAAAAiQAAAAAAAA"
# The example of version 1 (TCF v1.1) consent strings.
VERSION_1 = "BOEFEAyOEFEAyAHABDENAI4AAAB9vABAASA"


def tc(**changes: object) -> TCString:
    """A plain version 2 record; ``changes`` replace its fields."""
    base = TCString(
        version=2,
        created=datetime(2024, 3, 1, 12, 30, 15, 700_000, tzinfo=UTC),
        last_updated=datetime(2024, 3, 2, tzinfo=UTC),
        cmp_id=300,
        cmp_version=7,
        consent_screen=2,
        consent_language="DE",
        vendor_list_version=120,
        policy_version=4,
        is_service_specific=True,
        use_non_standard_texts=False,
        special_feature_optins=frozenset({1}),
        purposes_consent=frozenset({1, 3, 4, 5, 6}),
        purposes_li=frozenset({2, 7, 9, 10}),
        purpose_one_treatment=False,
        publisher_cc="FR",
        vendor_consents=frozenset({2, 6, 8, *range(50, 90), 755}),
        vendor_li=frozenset({8, 755}),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def full() -> TCString:
    """A record with every segment and a few publisher restrictions."""
    return tc(
        publisher_restrictions=(
            PublisherRestriction(2, RestrictionType.NOT_ALLOWED, frozenset({8, 9, 10, 40})),
            PublisherRestriction(7, RestrictionType.REQUIRE_LI, frozenset({755})),
        ),
        disclosed_vendors=frozenset({2, 6, 8, 12, *range(50, 120), 755, 1001}),
        allowed_vendors=frozenset({6, 8}),
        publisher_tc=PublisherTC(
            purposes_consent=frozenset({1, 2}),
            purposes_li=frozenset({7}),
            num_custom_purposes=3,
            custom_purposes_consent=frozenset({1, 3}),
            custom_purposes_li=frozenset({2}),
        ),
    )


# The core's fields up to PublisherCC take 213 bits; an empty bitfield vendor section 17.
FIXED_CORE_BITS = 213
EMPTY = "0" * 17
# After VendorConsents: an empty VendorLegitimateInterests section and no restrictions.
NOTHING_MORE = EMPTY + "0" * 12


def core_ending_with(write: Callable[[BitWriter], object]) -> str:
    """A core segment: the fixed fields of ``tc()``, then what ``write`` appends."""
    w = core_writer(tc())
    w.bits = w.bits[:FIXED_CORE_BITS]
    write(w)
    return w.text()


def vendor_section_string(ranges: list[tuple[int, int]]) -> str:
    """A core segment whose VendorConsents are these range entries; nothing else after."""
    return core_ending_with(
        lambda w: w.int(100, 16).bool(True).ranges(ranges).bits_of(NOTHING_MORE)
    )


# --- the published examples -----------------------------------------------------------------


def test_the_2025_example_of_the_specification() -> None:
    decoded = decode_tc_string(SPEC_2025)
    assert decoded.version == 2
    assert decoded.created == decoded.last_updated == datetime(2025, 6, 3, tzinfo=UTC)
    assert (decoded.cmp_id, decoded.cmp_version, decoded.consent_screen) == (880, 0, 0)
    assert (decoded.consent_language, decoded.publisher_cc) == ("EN", "DE")
    assert (decoded.vendor_list_version, decoded.policy_version) == (48, 2)
    assert decoded.is_service_specific is True
    assert decoded.purposes_consent == decoded.purposes_li == frozenset()
    assert decoded.vendor_consents == {1, 2, 3, 4}
    assert decoded.vendor_li == frozenset()
    assert decoded.disclosed_vendors == {1, 2, 3, 4, 5, 100, 404}
    assert decoded.allowed_vendors is None and decoded.publisher_tc is None


def test_the_2020_example_of_the_specification() -> None:
    decoded = decode_tc_string(SPEC_2020)
    assert decoded.created == datetime(2020, 2, 20, 23, 57, 39, 300_000, tzinfo=UTC)
    assert (decoded.cmp_id, decoded.vendor_list_version, decoded.publisher_cc) == (27, 15, "AA")
    assert decoded.purposes_consent == {1, 2, 3}
    assert decoded.vendor_consents == decoded.vendor_li == {2, 6, 8}
    assert decoded.disclosed_vendors is not None
    assert len(decoded.disclosed_vendors) == 79
    assert {2, 6, 8, 12, 18, 23, 37, 42, 720} <= decoded.disclosed_vendors
    assert max(decoded.disclosed_vendors) == 720


def test_the_example_of_the_iabtcf_command_line_documentation() -> None:
    decoded = decode_tc_string(IABTCF_CLI)
    # Documented as "Mon Dec 09 2019 18:01:46 GMT-0800".
    assert decoded.created == datetime(2019, 12, 10, 2, 1, 46, 500_000, tzinfo=UTC)
    assert decoded.created.utcoffset() == timedelta(0)
    assert (decoded.cmp_id, decoded.cmp_version, decoded.consent_screen) == (2, 1, 2)
    assert (decoded.consent_language, decoded.publisher_cc) == ("EN", "ES")
    assert (decoded.vendor_list_version, decoded.policy_version) == (7, 2)
    assert decoded.vendor_consents == decoded.vendor_li == frozenset()
    assert decoded.disclosed_vendors is None


def test_the_public_names_are_importable_from_interop() -> None:
    from consent_middleware import interop

    assert set(interop.__all__) >= {"decode_tc_string", "TCString", "TCStringError"}
    assert issubclass(TCStringError, ValueError)
    assert issubclass(TCStringError, ConsentError)


# --- what the string holds ------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["bitfield", "range"])
def test_both_vendor_encodings_decode_to_the_same_record(encoding: VendorEncoding) -> None:
    record = full()
    assert decode_tc_string(encode_tc_string(record, encoding)) == record


def test_the_two_encodings_are_really_different_strings() -> None:
    record = full()
    assert encode_tc_string(record, "bitfield") != encode_tc_string(record, "range")


def test_range_entries_may_overlap_and_come_in_any_order() -> None:
    decoded = decode_tc_string(vendor_section_string([(20, 30), (3, 3), (5, 21), (4, 4)]))
    assert decoded.vendor_consents == set(range(3, 31))


def test_ids_beyond_max_vendor_id_in_range_entries_are_read_as_written() -> None:
    # The reference decoder does the same; MaxVendorId only sizes a bitfield.
    text = core_ending_with(
        lambda w: w.int(2, 16).bool(True).ranges([(7, 9)]).bits_of(NOTHING_MORE)
    )
    assert decode_tc_string(text).vendor_consents == {7, 8, 9}


def test_restrictions_of_the_same_purpose_and_type_are_merged_and_empty_ones_left_out() -> None:
    def restrictions(w: BitWriter) -> None:
        w.bits_of(EMPTY * 2).int(4, 12)
        w.int(7, 6).int(1, 2).ranges([(5, 6)])
        w.int(2, 6).int(0, 2).ranges([])
        w.int(7, 6).int(1, 2).ranges([(9, 9)])
        w.int(3, 6).int(2, 2).ranges([(1, 2)])

    decoded = decode_tc_string(core_ending_with(restrictions))
    assert decoded.publisher_restrictions == (
        PublisherRestriction(3, RestrictionType.REQUIRE_LI, frozenset({1, 2})),
        PublisherRestriction(7, RestrictionType.REQUIRE_CONSENT, frozenset({5, 6, 9})),
    )


def test_absent_segments_are_none_and_empty_ones_are_empty() -> None:
    core = encode_tc_string(tc())
    assert decode_tc_string(core).disclosed_vendors is None
    empty = decode_tc_string(core + "." + vendors_segment(1, frozenset(), "bitfield"))
    assert empty.disclosed_vendors == frozenset()
    assert empty.allowed_vendors is None


def test_optional_segments_may_come_in_any_order_after_the_core() -> None:
    record = full()
    core, disclosed, allowed, publisher = encode_tc_string(record).split(".")
    assert decode_tc_string(".".join([core, publisher, allowed, disclosed])) == record


def test_the_dates_keep_their_tenths_of_a_second_and_are_utc() -> None:
    latest = EPOCH + timedelta(milliseconds=100 * (2**36 - 1))
    decoded = decode_tc_string(encode_tc_string(tc(created=latest, last_updated=EPOCH)))
    assert decoded.created == latest
    assert latest.year == 2187
    assert decoded.last_updated == EPOCH
    assert decoded.created.tzinfo is UTC


# --- malformed strings ----------------------------------------------------------------------


def with_core_bits(change: str, at: int) -> str:
    """A valid string whose core bits from ``at`` on are replaced by ``change``."""
    w = core_writer(tc())
    w.bits = w.bits[:at] + change + w.bits[at + len(change) :]
    return w.text()


MALFORMED = [
    pytest.param("", "empty", id="empty"),
    pytest.param(VERSION_1, "version 1", id="version-1"),
    pytest.param(with_core_bits("000011", 0), "version 3", id="version-3"),
    pytest.param(with_core_bits("000000", 0), "version 0", id="version-0"),
    pytest.param(
        vendors_segment(1, frozenset({1}), "bitfield") + "." + encode_tc_string(tc()),
        "must come first",
        id="disclosed-vendors-first",
    ),
    pytest.param(encode_tc_string(tc()) + ".", "segment 2 of the TC string is empty", id="dot"),
    pytest.param("." + encode_tc_string(tc()), "segment 1", id="leading-dot"),
    pytest.param(encode_tc_string(tc()) + "=", "character", id="padding"),
    pytest.param(" " + encode_tc_string(tc()), "character 0", id="space"),
    pytest.param(encode_tc_string(tc()).replace("A", "+", 1), "not base64url", id="plus"),
    pytest.param(encode_tc_string(tc())[:30] + "é", "character 30", id="non-ascii"),
    pytest.param("C" * (MAX_TC_STRING_LENGTH + 1), "more than the", id="too-long"),
    pytest.param(".".join([encode_tc_string(tc())] * 5), "at most 4", id="five-segments"),
    pytest.param(
        encode_tc_string(tc()) + "." + encode_tc_string(tc()),
        "a second core segment",
        id="two-cores",
    ),
    pytest.param(
        encode_tc_string(tc()) + "." + BitWriter().int(5, 3).int(0, 21).text(),
        "unknown segment type 5",
        id="segment-type-5",
    ),
    pytest.param(
        encode_tc_string(tc())
        + "."
        + vendors_segment(2, frozenset(), "range")
        + "."
        + vendors_segment(2, frozenset({3}), "range"),
        "a second AllowedVendors segment",
        id="two-allowed-vendors",
    ),
    pytest.param(with_core_bits("011010" + "000000", 108), "ConsentLanguage", id="language"),
    pytest.param(with_core_bits("000000" + "111111", 201), "PublisherCC", id="country"),
    pytest.param("CPAAAA", "Created", id="truncated"),
]


@pytest.mark.parametrize(("text", "message"), MALFORMED)
def test_a_malformed_string_raises_tc_string_error(text: str, message: str) -> None:
    with pytest.raises(TCStringError, match=message):
        decode_tc_string(text)


def test_a_string_that_is_not_a_str_raises_tc_string_error() -> None:
    with pytest.raises(TCStringError, match="bytes"):
        decode_tc_string(b"CPAAAAAA")  # type: ignore[arg-type]


def test_the_error_names_the_segment_field_and_bit() -> None:
    text = encode_tc_string(tc())
    with pytest.raises(TCStringError) as raised:
        decode_tc_string(text[:17])  # 102 bits: up to CmpVersion
    error = raised.value
    assert (error.segment, error.field, error.bit) == ("core", "ConsentScreen", 102)
    assert "ConsentScreen at bit 102" in str(error)
    assert "ends at bit 102" in str(error)


def test_the_error_never_repeats_the_string() -> None:
    secret = encode_tc_string(tc()) + "!"
    with pytest.raises(TCStringError) as raised:
        decode_tc_string(secret)
    assert secret[:12] not in str(raised.value)


@pytest.mark.parametrize(
    ("ranges", "message"),
    [
        pytest.param([(0, 0)], "vendor id 0", id="vendor-0"),
        pytest.param([(0, 5)], "vendor id 0", id="range-from-0"),
        pytest.param([(1, 2), (9, 8)], "entry 2 of 2.*range 9-8 ends before it starts", id="back"),
    ],
)
def test_a_wrong_range_entry_raises(ranges: list[tuple[int, int]], message: str) -> None:
    with pytest.raises(TCStringError, match=message):
        decode_tc_string(vendor_section_string(ranges))


@pytest.mark.parametrize(
    ("purpose", "kind", "message"),
    [
        pytest.param(0, 1, "purpose 0", id="purpose-0"),
        pytest.param(2, 3, "restriction type 3 is undefined", id="type-3"),
    ],
)
def test_a_wrong_publisher_restriction_raises(purpose: int, kind: int, message: str) -> None:
    text = core_ending_with(
        lambda w: w.bits_of(EMPTY * 2).int(1, 12).int(purpose, 6).int(kind, 2).ranges([(3, 4)])
    )
    with pytest.raises(TCStringError, match=message):
        decode_tc_string(text)


# --- hostile input --------------------------------------------------------------------------


def test_a_range_entry_may_name_every_vendor_id() -> None:
    decoded = decode_tc_string(vendor_section_string([(1, 65535)]))
    assert decoded.vendor_consents == set(range(1, 65536))


def test_overlapping_ranges_count_once() -> None:
    # 4095 entries each naming every id: far more ids than allowed, unless merged first.
    decoded = decode_tc_string(vendor_section_string([(1, 65535)] * 4095))
    assert len(decoded.vendor_consents) == 65535


def test_restrictions_naming_too_many_vendor_ids_are_refused_before_they_are_built() -> None:
    def restrictions(w: BitWriter) -> None:
        w.bits_of(EMPTY * 2).int(3, 12)
        for purpose in (1, 2, 3):
            w.int(purpose, 6).int(0, 2).ranges([(1, 65535)])

    text = core_ending_with(restrictions)
    assert len(text) < 100
    with pytest.raises(TCStringError, match="PubRestrictionEntry 3 of 3.*vendor ids"):
        decode_tc_string(text)


def test_the_longest_accepted_string_decodes() -> None:
    core = encode_tc_string(tc(vendor_consents=frozenset({1})))
    padded = core + "A" * (MAX_TC_STRING_LENGTH - len(core))
    assert decode_tc_string(padded).vendor_consents == {1}


# --- truncation -----------------------------------------------------------------------------

VALID = {
    "spec-2025": SPEC_2025,
    "spec-2020": SPEC_2020,
    "iabtcf-cli": IABTCF_CLI,
    "bitfield": encode_tc_string(full(), "bitfield", pad_to=24),
    "range": encode_tc_string(full(), "range", pad_to=24),
}


@pytest.mark.parametrize("text", VALID.values(), ids=VALID.keys())
def test_every_truncation_raises_unless_it_cuts_only_padding_or_whole_segments(
    text: str,
) -> None:
    """A cut inside a segment's fields raises. Two cuts cannot be told from a whole string:
    one inside the zero bits that pad a segment to whole characters (it decodes the same),
    and one exactly before a ``.`` (a string with fewer segments)."""
    raised = 0
    for cut in range(len(text)):
        prefix = text[:cut]
        segment_end = text.find(".", cut)
        segment_end = len(text) if segment_end < 0 else segment_end
        try:
            decoded = decode_tc_string(prefix)
        except TCStringError:
            raised += 1
            continue
        assert set(text[cut:segment_end]) <= {"A"}, f"cut at {cut} lost data silently"
        assert decoded == decode_tc_string(text[:segment_end])
    segments = text.count(".") + 1
    assert raised >= len(text) - segments * 4


# --- properties -----------------------------------------------------------------------------


def ids(top: int, size: int) -> st.SearchStrategy[frozenset[int]]:
    """Vendor or purpose ids, now scattered, now in runs (which range encoding prefers)."""
    runs = st.lists(st.tuples(st.integers(1, top), st.integers(0, 40)), max_size=6).map(
        lambda spans: frozenset(
            i for start, length in spans for i in range(start, min(start + length, top) + 1)
        )
    )
    return st.one_of(st.frozensets(st.integers(1, top), max_size=size), runs)


letters = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=2, max_size=2)
moments = st.integers(0, 2**36 - 1).map(lambda ds: EPOCH + timedelta(milliseconds=100 * ds))
restrictions = st.dictionaries(
    st.tuples(st.integers(1, 63), st.sampled_from(RestrictionType)),
    ids(3000, 20).filter(bool),
    max_size=4,
).map(lambda found: tuple(PublisherRestriction(p, t, v) for (p, t), v in sorted(found.items())))


@st.composite
def publisher_tcs(draw: st.DrawFn) -> PublisherTC:
    count = draw(st.integers(0, 63))
    custom = st.frozensets(st.integers(1, count), max_size=count) if count else st.just(frozenset())
    return PublisherTC(
        purposes_consent=draw(ids(24, 24)),
        purposes_li=draw(ids(24, 24)),
        num_custom_purposes=count,
        custom_purposes_consent=draw(custom),
        custom_purposes_li=draw(custom),
    )


records = st.builds(
    TCString,
    version=st.just(2),
    created=moments,
    last_updated=moments,
    cmp_id=st.integers(0, 4095),
    cmp_version=st.integers(0, 4095),
    consent_screen=st.integers(0, 63),
    consent_language=letters,
    vendor_list_version=st.integers(0, 4095),
    policy_version=st.integers(0, 63),
    is_service_specific=st.booleans(),
    use_non_standard_texts=st.booleans(),
    special_feature_optins=ids(12, 12),
    purposes_consent=ids(24, 24),
    purposes_li=ids(24, 24),
    purpose_one_treatment=st.booleans(),
    publisher_cc=letters,
    vendor_consents=ids(3000, 80),
    vendor_li=ids(3000, 80),
    publisher_restrictions=restrictions,
    disclosed_vendors=st.none() | ids(3000, 80),
    allowed_vendors=st.none() | ids(3000, 80),
    publisher_tc=st.none() | publisher_tcs(),
)


@settings(max_examples=300, deadline=None)
@given(records, st.sampled_from(["bitfield", "range", "shortest"]), st.sampled_from([6, 24]))
def test_encoding_then_decoding_gives_the_fields_back(
    record: TCString, encoding: VendorEncoding, pad_to: int
) -> None:
    assert decode_tc_string(encode_tc_string(record, encoding, pad_to=pad_to)) == record


def decode_or_error(text: str) -> TCString | None:
    """Decode ``text``; only TCStringError may escape, and this returns None for it."""
    try:
        return decode_tc_string(text)
    except TCStringError:
        return None


@settings(max_examples=500, deadline=None)
@given(st.text())
@example("C")
@example("C" + "_" * 80)
@example(".")
def test_arbitrary_text_raises_nothing_but_tc_string_error(text: str) -> None:
    decode_or_error(text)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


# First characters of optional segments of types 1 to 7.
segment_start = st.sampled_from(BASE64URL[8:])
# The fixed core fields of a valid string: random bits after it reach the vendor sections.
HEADER = core_writer(tc()).bits[:FIXED_CORE_BITS]


def core_from(data: bytes, start: str) -> str:
    if start == "raw":
        return b64(data)
    if start == "version 2":
        return "C" + b64(data)
    return BitWriter().bits_of(HEADER + "".join(format(byte, "08b") for byte in data)).text()


@settings(max_examples=500, deadline=None)
@given(
    st.binary(max_size=300),
    st.sampled_from(["raw", "version 2", "valid header"]),
    st.lists(st.tuples(segment_start, st.binary(max_size=60)), max_size=4),
)
def test_arbitrary_bytes_in_base64url_raise_nothing_but_tc_string_error(
    core: bytes, start: str, optional: list[tuple[str, bytes]]
) -> None:
    first = core_from(core, start)
    decode_or_error(".".join([first, *(char + b64(data) for char, data in optional)]))


@settings(max_examples=300, deadline=None)
@given(records, st.data())
def test_a_changed_character_raises_tc_string_error_or_decodes(
    record: TCString, data: st.DataObject
) -> None:
    text = encode_tc_string(record, data.draw(st.sampled_from(["bitfield", "range"])))
    index = data.draw(st.integers(0, len(text) - 1))
    changed = text[:index] + data.draw(st.sampled_from(BASE64URL + ".")) + text[index + 1 :]
    result = decode_or_error(changed)
    assert result is None or isinstance(result, TCString)
