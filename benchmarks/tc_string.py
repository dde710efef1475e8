"""Cost of decoding one TC string (the ``euconsent-v2`` cookie of a TCF CMP).

    python benchmarks/tc_string.py [--decodes N] [--rounds R]

Each string is decoded N times a round; the fastest round counts, which keeps other load on
the machine out of the figure. The baseline, measured in the same run, is base64url-decoding
the same string's segments into bytes (the least any decoder must do), so the ratio says
what reading the fields costs on top.

The strings: a typical "accept all" of TCF 2.3 (about 500 vendors with consent, 200 with
legitimate interest, 800 disclosed, two publisher restrictions), the same with every vendor
section range-encoded, a "reject all", and two hostile ones that show the bounds: the
longest accepted string made of range entries, and a short one whose ranges ask for more
vendor ids than allowed.
"""

from __future__ import annotations

import argparse
import base64
import random
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from consent_middleware.interop import (  # noqa: E402
    MAX_TC_STRING_LENGTH,
    PublisherRestriction,
    RestrictionType,
    TCString,
    TCStringError,
    decode_tc_string,
)
from tests.tc_encoder import core_writer, encode_tc_string  # noqa: E402


def typical(*, in_runs: bool = False) -> TCString:
    """An "accept all" with about 500 vendors; ``in_runs``: their ids mostly consecutive."""
    rng = random.Random(7)
    listed = sorted(rng.sample(range(1, 1400), 900))
    if in_runs:
        consents = frozenset(v for v in range(1, 1400) if v % 160 < 60)
    else:
        consents = frozenset(v for v in listed if rng.random() < 0.56)
    return TCString(
        version=2,
        created=datetime(2025, 6, 3, tzinfo=UTC),
        last_updated=datetime(2025, 6, 3, tzinfo=UTC),
        cmp_id=300,
        cmp_version=12,
        consent_screen=1,
        consent_language="DE",
        vendor_list_version=110,
        policy_version=5,
        is_service_specific=True,
        use_non_standard_texts=False,
        special_feature_optins=frozenset({1, 2}),
        purposes_consent=frozenset(range(1, 12)),
        purposes_li=frozenset({2, 7, 8, 9, 10, 11}),
        purpose_one_treatment=False,
        publisher_cc="DE",
        vendor_consents=consents,
        vendor_li=frozenset(rng.sample(sorted(consents), 200)),
        publisher_restrictions=(
            PublisherRestriction(2, RestrictionType.NOT_ALLOWED, frozenset(listed[:40:3])),
            PublisherRestriction(7, RestrictionType.REQUIRE_CONSENT, frozenset(listed[100:110])),
        ),
        disclosed_vendors=frozenset(listed[:800]),
    )


def reject_all() -> str:
    none = frozenset[int]()
    return encode_tc_string(
        replace(
            typical(),
            special_feature_optins=none,
            purposes_consent=none,
            purposes_li=none,
            vendor_consents=none,
            vendor_li=none,
            publisher_restrictions=(),
        ),
        "shortest",
    )


def longest_ranges() -> str:
    """The longest accepted core: VendorConsents of range entries each naming every id."""
    w = core_writer(typical())
    w.bits = w.bits[:213]
    entries = min(4095, (MAX_TC_STRING_LENGTH * 6 - 300) // 33)
    w.int(65535, 16).bool(True).ranges([(1, 65535)] * entries)
    w.int(0, 16).bool(False).int(0, 12)
    return w.text()


def too_many_ids() -> str:
    w = core_writer(typical())
    w.bits = w.bits[:213] + "0" * 34
    w.int(3, 12)
    for purpose in (1, 2, 3):
        w.int(purpose, 6).int(0, 2).ranges([(1, 65535)])
    return w.text()


def base64_baseline(text: str) -> None:
    for segment in text.split("."):
        base64.urlsafe_b64decode(segment + "A" * (-len(segment) % 4))


def refused(text: str) -> None:
    try:
        decode_tc_string(text)
    except TCStringError:
        return
    raise AssertionError("the hostile string was accepted")


def best(works: list[Callable[[str], object]], text: str, decodes: int, rounds: int) -> list[float]:
    """Seconds per call of each of ``works``, the fastest round's mean; rounds interleave."""
    fastest = [float("inf")] * len(works)
    for _ in range(rounds):
        for index, work in enumerate(works):
            start = time.perf_counter()
            for _ in range(decodes):
                work(text)
            fastest[index] = min(fastest[index], (time.perf_counter() - start) / decodes)
    return fastest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--decodes", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()

    record = typical()
    cases = {
        "typical (bitfields)": encode_tc_string(record, "shortest"),
        "vendors in runs (ranges)": encode_tc_string(typical(in_runs=True), "shortest"),
        "reject all": reject_all(),
    }
    assert decode_tc_string(cases["typical (bitfields)"]) == record
    print(f"fastest of {args.rounds} rounds of {args.decodes} decodes")
    for label, text in cases.items():
        decoded = decode_tc_string(text)
        cost, base = best([decode_tc_string, base64_baseline], text, args.decodes, args.rounds)
        print(
            f"  {label:<24} {len(text):4} chars, {len(decoded.vendor_consents):3} vendors:"
            f" {cost * 1e6:6.1f} us a decode, {cost / base:4.0f}x base64 ({base * 1e6:.1f} us)"
        )
    few = max(1, args.decodes // 200)
    hostile = longest_ranges()
    (cost,) = best([decode_tc_string], hostile, few, args.rounds)
    print(f"  hostile, {len(hostile)} chars of range entries: {cost * 1e3:.1f} ms a decode")
    (cost,) = best([refused], too_many_ids(), few, args.rounds)
    print(f"  hostile, ranges naming too many vendor ids: {cost * 1e3:.1f} ms to refuse")
    print("target: reading an external cookie under 10 us a request")


if __name__ == "__main__":
    main()
