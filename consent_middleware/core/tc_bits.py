"""Reading one base64url segment of a TC string bit by bit, every read checked for length."""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from itertools import chain, compress

from .exceptions import TCStringError

__all__ = ["BitReader"]

_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")
_NOT_BASE64URL = re.compile(r"[^A-Za-z0-9_-]")
# A bitfield's b"0"/b"1" become 0/1 bytes, which itertools.compress reads as flags.
_FLAGS = bytes.maketrans(b"01", b"\x00\x01")
_RANGE_ENTRY_BITS = 17  # IsARange 1, StartOrOnlyVendorId 16 (EndVendorId 16 more for a range)
# The ids of the vendor lists in use, made once: sets of them then share these int objects
# instead of allocating one per id, which makes building the sets about twice as fast.
_IDS = tuple(range(4097))
_LAST_CACHED = len(_IDS) - 1


def _ids(first: int, last: int) -> Sequence[int]:
    return _IDS[first : last + 1] if last <= _LAST_CACHED else range(first, last + 1)


class BitReader:
    """The bits of one segment, read front to back.

    Every read checks the segment's length first and raises :class:`TCStringError` naming
    the field and its bit offset. ``ids_left`` is what range entries may still expand to:
    a 33-bit range entry can name 65535 vendor ids, so the expansion is counted, across all
    the segments of a string, before any set is built.
    """

    __slots__ = ("_bits", "end", "ids_left", "pos", "segment")

    def __init__(self, text: str, segment: str, *, ids_left: int) -> None:
        if not _BASE64URL.fullmatch(text):
            bad = _NOT_BASE64URL.search(text)
            index = bad.start() if bad else 0
            raise TCStringError(
                f"TC string, {_label(segment)}: character {index} is not base64url "
                "(A-Z, a-z, 0-9, '-', '_')",
                segment=segment,
            )
        # Each character holds 6 bits; "A" (zero bits) pads to whole bytes, and ``end``
        # keeps the padding out of reach.
        raw = base64.urlsafe_b64decode(text + "A" * (-len(text) % 4))
        self._bits = format(int.from_bytes(raw, "big"), f"0{len(raw) * 8}b").encode("ascii")
        self.end = 6 * len(text)
        self.pos = 0
        self.segment = segment
        self.ids_left = ids_left

    def error(self, message: str, field: str, bit: int) -> TCStringError:
        """A :class:`TCStringError` about ``field`` at ``bit`` of this segment."""
        return TCStringError(
            f"TC string, {_label(self.segment)}, {field} at bit {bit}: {message}",
            segment=self.segment,
            field=field,
            bit=bit,
        )

    def _short(self, field: str, width: int) -> TCStringError:
        return self.error(
            f"needs {width} bits but the segment ends at bit {self.end} (truncated or malformed)",
            field,
            self.pos,
        )

    def read_int(self, width: int, field: str) -> int:
        """The next ``width`` bits as an unsigned big-endian integer."""
        pos = self.pos
        stop = pos + width
        if stop > self.end:
            raise self._short(field, width)
        self.pos = stop
        return int(self._bits[pos:stop], 2)

    def read_bool(self, field: str) -> bool:
        """The next bit."""
        pos = self.pos
        if pos >= self.end:
            raise self._short(field, 1)
        self.pos = pos + 1
        return self._bits[pos] == 49  # b"1"

    def read_bitfield(self, width: int, field: str) -> frozenset[int]:
        """The next ``width`` bits as the set of 1-based positions that are set."""
        pos = self.pos
        stop = pos + width
        if stop > self.end:
            raise self._short(field, width)
        self.pos = stop
        flags = self._bits[pos:stop].translate(_FLAGS)
        return frozenset(compress(_ids(1, width), flags))

    def read_ranges(self, field: str) -> frozenset[int]:
        """A NumEntries field and its range entries, as the set of the vendor ids they name.

        Entries may overlap and come in any order; an id of 0, or a range that ends before
        it starts, is malformed.
        """
        count = self.read_int(12, f"{field}.NumEntries")
        spans: list[tuple[int, int]] = []
        bits, end = self._bits, self.end
        for number in range(1, count + 1):
            pos = self.pos
            if pos + _RANGE_ENTRY_BITS > end:
                raise self._short(_entry(field, number, count), _RANGE_ENTRY_BITS)
            first = int(bits[pos + 1 : pos + 17], 2)
            if bits[pos] == 49:  # b"1": a range, EndVendorId follows
                if pos + 33 > end:
                    raise self._short(_entry(field, number, count), 33)
                last = int(bits[pos + 17 : pos + 33], 2)
                self.pos = pos + 33
            else:
                last = first
                self.pos = pos + 17
            if first == 0:
                raise self.error("vendor id 0 (ids start at 1)", _entry(field, number, count), pos)
            if last < first:
                raise self.error(
                    f"range {first}-{last} ends before it starts", _entry(field, number, count), pos
                )
            spans.append((first, last))
        return self._expand(spans, field)

    def _expand(self, spans: list[tuple[int, int]], field: str) -> frozenset[int]:
        spans.sort()
        merged: list[tuple[int, int]] = []
        for first, last in spans:
            if merged and first <= merged[-1][1] + 1:
                if last > merged[-1][1]:
                    merged[-1] = (merged[-1][0], last)
            else:
                merged.append((first, last))
        total = sum(last - first + 1 for first, last in merged)
        if total > self.ids_left:
            raise self.error(
                f"range entries name {total} vendor ids, more than the {self.ids_left} "
                "this string may still name",
                field,
                self.pos,
            )
        self.ids_left -= total
        if len(merged) == 1:
            return frozenset(_ids(*merged[0]))
        return frozenset(chain.from_iterable(_ids(a, b) for a, b in merged))


def _label(segment: str) -> str:
    # Optional segments are "segment 2", "segment 3"... until their type is read.
    return segment if segment.startswith("segment ") else f"{segment} segment"


def _entry(field: str, number: int, count: int) -> str:
    return f"{field} entry {number} of {count}"
