"""A TC string encoder for the tests: the inverse of ``decode_tc_string``, written from the
format's description, and a bit writer for strings that are wrong on purpose."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Literal

from consent_middleware.interop import PublisherTC, TCString

# "shortest" picks, section by section, the shorter of the two, as CMPs do.
VendorEncoding = Literal["bitfield", "range", "shortest"]
BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def spans_of(ids: Iterable[int]) -> list[tuple[int, int]]:
    """Runs of consecutive ids, as (first, last) pairs in order."""
    spans: list[tuple[int, int]] = []
    for vendor in sorted(ids):
        if spans and vendor == spans[-1][1] + 1:
            spans[-1] = (spans[-1][0], vendor)
        else:
            spans.append((vendor, vendor))
    return spans


def deciseconds(moment: datetime) -> int:
    """A datetime as the tenths of a second since the epoch that a TC string holds."""
    return (moment - _EPOCH) // timedelta(milliseconds=100)


class BitWriter:
    """Bits appended one field at a time, then base64url-encoded."""

    def __init__(self) -> None:
        self.bits = ""

    def int(self, value: int, width: int) -> BitWriter:
        assert 0 <= value < 1 << width, (value, width)
        self.bits += format(value, f"0{width}b") if width else ""
        return self

    def bool(self, value: bool) -> BitWriter:
        return self.int(int(value), 1)

    def bits_of(self, bits: str) -> BitWriter:
        """Append ``bits`` ("0"/"1") as they are."""
        self.bits += bits
        return self

    def bitfield(self, ids: Iterable[int], width: int) -> BitWriter:
        chosen = set(ids)
        assert all(1 <= i <= width for i in chosen), (chosen, width)
        self.bits += "".join("1" if i in chosen else "0" for i in range(1, width + 1))
        return self

    def letters(self, code: str) -> BitWriter:
        return self.int(ord(code[0]) - 65, 6).int(ord(code[1]) - 65, 6)

    def ranges(self, spans: list[tuple[int, int]]) -> BitWriter:
        """NumEntries, then one entry per span (a single id when first == last)."""
        self.int(len(spans), 12)
        for first, last in spans:
            self.bool(first != last).int(first, 16)
            if first != last:
                self.int(last, 16)
        return self

    def vendors(self, ids: frozenset[int], encoding: VendorEncoding) -> BitWriter:
        max_id = max(ids, default=0)
        if encoding == "shortest":
            spans = spans_of(ids)
            range_bits = 12 + sum(17 if first == last else 33 for first, last in spans)
            encoding = "range" if range_bits < max_id else "bitfield"
        self.int(max_id, 16).bool(encoding == "range")
        if encoding == "range":
            return self.ranges(spans_of(ids))
        return self.bitfield(ids, max_id)

    def text(self, *, pad_to: int = 6) -> str:
        """The bits as base64url, padded with zero bits to a multiple of ``pad_to``."""
        bits = self.bits + "0" * (-len(self.bits) % pad_to)
        bits += "0" * (-len(bits) % 6)
        return "".join(BASE64URL[int(bits[i : i + 6], 2)] for i in range(0, len(bits), 6))


def core_writer(tc: TCString, encoding: VendorEncoding = "bitfield") -> BitWriter:
    """The core segment of ``tc``, its vendor sections in ``encoding``."""
    w = BitWriter().int(tc.version, 6)
    w.int(deciseconds(tc.created), 36).int(deciseconds(tc.last_updated), 36)
    w.int(tc.cmp_id, 12).int(tc.cmp_version, 12).int(tc.consent_screen, 6)
    w.letters(tc.consent_language).int(tc.vendor_list_version, 12).int(tc.policy_version, 6)
    w.bool(tc.is_service_specific).bool(tc.use_non_standard_texts)
    w.bitfield(tc.special_feature_optins, 12)
    w.bitfield(tc.purposes_consent, 24).bitfield(tc.purposes_li, 24)
    w.bool(tc.purpose_one_treatment).letters(tc.publisher_cc)
    w.vendors(tc.vendor_consents, encoding).vendors(tc.vendor_li, encoding)
    w.int(len(tc.publisher_restrictions), 12)
    for restriction in tc.publisher_restrictions:
        w.int(restriction.purpose_id, 6).int(restriction.restriction_type, 2)
        w.ranges(spans_of(restriction.vendors))
    return w


def vendors_segment(kind: int, ids: frozenset[int], encoding: VendorEncoding) -> str:
    """A DisclosedVendors (1) or AllowedVendors (2) segment."""
    return BitWriter().int(kind, 3).vendors(ids, encoding).text()


def publisher_tc_segment(publisher: PublisherTC) -> str:
    w = BitWriter().int(3, 3)
    w.bitfield(publisher.purposes_consent, 24).bitfield(publisher.purposes_li, 24)
    w.int(publisher.num_custom_purposes, 6)
    w.bitfield(publisher.custom_purposes_consent, publisher.num_custom_purposes)
    w.bitfield(publisher.custom_purposes_li, publisher.num_custom_purposes)
    return w.text()


def encode_tc_string(
    tc: TCString, encoding: VendorEncoding = "bitfield", *, pad_to: int = 6
) -> str:
    """``tc`` as a TC string, every vendor section in ``encoding``; segments in spec order."""
    segments = [core_writer(tc, encoding).text(pad_to=pad_to)]
    if tc.disclosed_vendors is not None:
        segments.append(vendors_segment(1, tc.disclosed_vendors, encoding))
    if tc.allowed_vendors is not None:
        segments.append(vendors_segment(2, tc.allowed_vendors, encoding))
    if tc.publisher_tc is not None:
        segments.append(publisher_tc_segment(tc.publisher_tc))
    return ".".join(segments)
