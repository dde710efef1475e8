"""The decoder against the IAB's reference implementation, ``@iabtcf/core``, run with Node.

Node encodes a few hundred generated TC models and the decoder must read every field as the
reference decoder does; Node also decodes strings made by ``tests/tc_encoder.py``. The
package is pinned in ``tests/iabtcf/package-lock.json``; the first run installs it with
``npm ci --prefix tests/iabtcf``. Skipped only where ``node`` is missing.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from consent_middleware.interop import (
    PublisherRestriction,
    PublisherTC,
    RestrictionType,
    TCString,
    decode_tc_string,
)
from tests.tc_encoder import BASE64URL, encode_tc_string
from tests.test_tc_string import IABTCF_CLI, SPEC_2020, SPEC_2025

NODE = shutil.which("node")
SCRIPT_DIR = Path(__file__).parent / "iabtcf"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MODELS = 300
# The languages the reference encoder accepts (any two letters A-Z are tested elsewhere).
CONSENT_LANGUAGES = [
    *("BG", "CA", "CS", "DA", "DE", "EL", "EN", "ES", "ET", "FI", "FR", "HR", "HU", "IT"),
    *("JA", "LT", "LV", "MT", "NL", "NO", "PL", "PT", "RO", "RU", "SK", "SL", "SV", "TR", "ZH"),
]
RECORDS = 200

pytestmark = pytest.mark.skipif(
    NODE is None, reason="node is not installed: the IAB reference implementation runs on Node"
)

Fields = dict[str, Any]


@pytest.fixture(scope="module")
def reference() -> Callable[[list[Fields], list[str]], Fields]:
    """Runs the reference implementation on models to encode and strings to decode."""
    assert NODE is not None
    if not (SCRIPT_DIR / "node_modules" / "@iabtcf" / "core").is_dir():
        # The first run installs the pinned version from the npm registry.
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("npm is missing: install it beside node (apt-get install npm)")
        installed = subprocess.run(
            [npm, "ci", "--prefix", str(SCRIPT_DIR), "--no-audit", "--no-fund"],
            capture_output=True,
            text=True,
            timeout=300,
        )
        if installed.returncode != 0:
            pytest.fail(f"`npm ci --prefix tests/iabtcf` failed:\n{installed.stderr}")

    def run(models: list[Fields], strings: list[str]) -> Fields:
        done = subprocess.run(
            [NODE, str(SCRIPT_DIR / "cross_check.mjs")],
            input=json.dumps({"encode": models, "decode": strings}),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        result: Fields = json.loads(done.stdout)
        return result

    return run


def millis(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(milliseconds=1)


def fields_of(tc: TCString) -> Fields:
    """``tc`` in the shape the Node script prints a decoded model (absent segments empty)."""
    none = frozenset[int]()
    publisher = tc.publisher_tc or PublisherTC(none, none, 0, none, none)
    return {
        "version": tc.version,
        "created": millis(tc.created),
        "lastUpdated": millis(tc.last_updated),
        "cmpId": tc.cmp_id,
        "cmpVersion": tc.cmp_version,
        "consentScreen": tc.consent_screen,
        "consentLanguage": tc.consent_language,
        "vendorListVersion": tc.vendor_list_version,
        "policyVersion": tc.policy_version,
        "isServiceSpecific": tc.is_service_specific,
        "useNonStandardTexts": tc.use_non_standard_texts,
        "specialFeatureOptins": sorted(tc.special_feature_optins),
        "purposeConsents": sorted(tc.purposes_consent),
        "purposeLI": sorted(tc.purposes_li),
        "purposeOneTreatment": tc.purpose_one_treatment,
        "publisherCC": tc.publisher_cc,
        "vendorConsents": sorted(tc.vendor_consents),
        "vendorLI": sorted(tc.vendor_li),
        "restrictions": [
            [r.purpose_id, int(r.restriction_type), sorted(r.vendors)]
            for r in tc.publisher_restrictions
        ],
        "vendorsDisclosed": sorted(tc.disclosed_vendors or ()),
        "vendorsAllowed": sorted(tc.allowed_vendors or ()),
        "publisherConsents": sorted(publisher.purposes_consent),
        "publisherLI": sorted(publisher.purposes_li),
        "numCustomPurposes": publisher.num_custom_purposes,
        "customConsents": sorted(publisher.custom_purposes_consent),
        "customLI": sorted(publisher.custom_purposes_li),
    }


# --- generated models -----------------------------------------------------------------------


def subset(rng: random.Random, items: list[int], share: float) -> list[int]:
    return [item for item in items if rng.random() < share]


def pick_vendors(rng: random.Random, pool: list[int]) -> list[int]:
    """Vendors from ``pool`` in a shape that favours one encoding or the other."""
    style = rng.choice(["dense", "runs", "sparse", "none"])
    if style == "dense" or not pool:
        return subset(rng, pool, rng.uniform(0.3, 0.9))
    if style == "runs":
        chosen: set[int] = set()
        for _ in range(rng.randint(1, 4)):
            start = rng.randrange(len(pool))
            chosen.update(pool[start : start + rng.randint(1, 200)])
        return sorted(chosen)
    if style == "sparse":
        return sorted(rng.sample(pool, min(len(pool), rng.randint(1, 5))))
    return []


def vendor_list_ids(rng: random.Random) -> list[int]:
    """Ids of a made-up vendor list: blocks of consecutive ids with gaps between them."""
    top = rng.choice([30, 120, 600, 1500, 3000])
    ids: set[int] = set()
    for _ in range(rng.randint(1, 6)):
        start = rng.randint(1, top)
        ids.update(range(start, min(top, start + rng.randint(0, top // 8)) + 1))
    return sorted(ids)


def model(rng: random.Random) -> Fields:
    """A TC model for the reference encoder, every field random."""
    gvl_ids = vendor_list_ids(rng)
    gvl_vendors = []
    for vendor in gvl_ids:
        declared = rng.sample(range(1, 12), rng.randint(0, 11))
        split = rng.randint(0, len(declared))
        gvl_vendors.append(
            {
                "id": vendor,
                "purposes": sorted(declared[:split]),
                "legIntPurposes": sorted(declared[split:]),
                "flexiblePurposes": sorted(subset(rng, declared, 0.5)),
                "specialPurposes": subset(rng, [1, 2], 0.5),
            }
        )
    # A few ids not on the list, which the reference encoder must drop.
    pool = sorted(set(gvl_ids) | {rng.randint(1, 4000) for _ in range(3)})
    custom = rng.randint(0, 63)
    restrictions = []
    for _ in range(rng.choice([0, 0, 1, 3, 6])):
        restrictions.append([rng.randint(1, 11), rng.randint(0, 2), pick_vendors(rng, gvl_ids)])
    return {
        "gvlVendors": gvl_vendors,
        "cmpId": rng.randint(2, 4095),
        "cmpVersion": rng.randint(0, 4095),
        "consentScreen": rng.randint(0, 63),
        "consentLanguage": rng.choice(CONSENT_LANGUAGES),
        "vendorListVersion": rng.randint(1, 4095),
        "policyVersion": rng.choice([2, 2, 4, 4, 5, rng.randint(0, 63)]),
        "isServiceSpecific": rng.random() < 0.5,
        "useNonStandardTexts": rng.random() < 0.5,
        "purposeOneTreatment": rng.random() < 0.5,
        "publisherCC": "".join(rng.choices("ABCDEFGHIJKLMNOPQRSTUVWXYZ", k=2)),
        "created": 100 * rng.randint(0, 2**36 - 1),
        "lastUpdated": 100 * rng.randint(15_000_000_000, 20_000_000_000),
        "specialFeatureOptins": subset(rng, list(range(1, 13)), 0.4),
        "purposeConsents": subset(rng, list(range(1, 25)), 0.5),
        "purposeLI": subset(rng, list(range(1, 25)), 0.5),
        "vendorConsents": pick_vendors(rng, pool),
        "vendorLI": pick_vendors(rng, pool),
        "vendorsAllowed": pick_vendors(rng, pool),
        "restrictions": restrictions,
        "publisherConsents": subset(rng, list(range(1, 25)), 0.5),
        "publisherLI": subset(rng, list(range(1, 25)), 0.5),
        "numCustomPurposes": custom,
        "customConsents": subset(rng, list(range(1, custom + 1)), 0.5),
        "customLI": subset(rng, list(range(1, custom + 1)), 0.5),
        "segments": [
            "core",
            *rng.sample(["vendorsDisclosed", "vendorsAllowed", "publisherTC"], rng.randint(0, 3)),
        ],
    }


def vendor_consents_encoding(text: str) -> str:
    """How the core of ``text`` encodes VendorConsents: its IsRangeEncoding is bit 229."""
    bits = "".join(format(BASE64URL.index(char), "06b") for char in text.split(".")[0][:40])
    return "range" if bits[229] == "1" else "bitfield"


def test_the_decoder_reads_every_field_of_strings_the_reference_encoder_made(
    reference: Callable[[list[Fields], list[str]], Fields],
) -> None:
    rng = random.Random(20240301)
    models = [model(rng) for _ in range(MODELS)]
    results = reference(models, [])["encoded"]
    encodings = {"bitfield": 0, "range": 0}
    with_restrictions = 0
    for given, result in zip(models, results, strict=True):
        assert "error" not in result, result
        text, expected = result["string"], result["fields"]
        decoded = decode_tc_string(text)
        assert fields_of(decoded) == expected, text
        # The reference encoder kept what it was given, apart from what its rules drop.
        assert decoded.cmp_id == given["cmpId"]
        assert decoded.consent_language == given["consentLanguage"]
        assert decoded.policy_version == given["policyVersion"]
        assert millis(decoded.created) == given["created"]
        assert decoded.purposes_consent == set(given["purposeConsents"])
        assert decoded.purposes_li == set(given["purposeLI"]) - {1}
        assert decoded.special_feature_optins == set(given["specialFeatureOptins"])
        assert decoded.vendor_consents <= set(given["vendorConsents"])
        segments = given["segments"]
        assert (decoded.disclosed_vendors is not None) == ("vendorsDisclosed" in segments)
        assert (decoded.publisher_tc is not None) == ("publisherTC" in segments)
        if decoded.allowed_vendors is not None:
            assert decoded.allowed_vendors == set(given["vendorsAllowed"])
        if decoded.publisher_tc is not None:
            assert decoded.publisher_tc.num_custom_purposes == given["numCustomPurposes"]
            assert decoded.publisher_tc.custom_purposes_li == set(given["customLI"])
        encodings[vendor_consents_encoding(text)] += 1
        with_restrictions += bool(decoded.publisher_restrictions)
    # The generated models reach both vendor encodings and the restrictions.
    assert min(encodings.values()) >= MODELS // 10, encodings
    assert with_restrictions >= MODELS // 10


def random_ids(rng: random.Random, top: int) -> frozenset[int]:
    return frozenset(pick_vendors(rng, list(range(1, rng.randint(1, top) + 1))))


def record(rng: random.Random) -> TCString:
    """A TCString with every field random, for the test encoder."""
    custom = rng.randint(0, 63)
    restrictions: dict[tuple[int, int], frozenset[int]] = {}
    for _ in range(rng.choice([0, 1, 4])):
        vendors = random_ids(rng, 2000) or frozenset({rng.randint(1, 65535)})
        restrictions[(rng.randint(1, 63), rng.randint(0, 2))] = vendors
    return TCString(
        version=2,
        created=EPOCH + timedelta(milliseconds=100 * rng.randint(0, 2**36 - 1)),
        last_updated=EPOCH + timedelta(milliseconds=100 * rng.randint(0, 2**36 - 1)),
        cmp_id=rng.randint(2, 4095),
        cmp_version=rng.randint(0, 4095),
        consent_screen=rng.randint(0, 63),
        consent_language="".join(rng.choices("ABCDEFGHIJKLMNOPQRSTUVWXYZ", k=2)),
        vendor_list_version=rng.randint(0, 4095),
        policy_version=rng.randint(0, 63),
        is_service_specific=rng.random() < 0.5,
        use_non_standard_texts=rng.random() < 0.5,
        special_feature_optins=frozenset(subset(rng, list(range(1, 13)), 0.5)),
        purposes_consent=frozenset(subset(rng, list(range(1, 25)), 0.5)),
        purposes_li=frozenset(subset(rng, list(range(1, 25)), 0.5)),
        purpose_one_treatment=rng.random() < 0.5,
        publisher_cc="".join(rng.choices("ABCDEFGHIJKLMNOPQRSTUVWXYZ", k=2)),
        vendor_consents=random_ids(rng, 3000),
        vendor_li=random_ids(rng, 3000),
        publisher_restrictions=tuple(
            PublisherRestriction(purpose, RestrictionType(kind), vendors)
            for (purpose, kind), vendors in sorted(restrictions.items())
        ),
        disclosed_vendors=random_ids(rng, 3000) if rng.random() < 0.5 else None,
        allowed_vendors=random_ids(rng, 3000) if rng.random() < 0.5 else None,
        publisher_tc=PublisherTC(
            purposes_consent=frozenset(subset(rng, list(range(1, 25)), 0.5)),
            purposes_li=frozenset(subset(rng, list(range(1, 25)), 0.5)),
            num_custom_purposes=custom,
            custom_purposes_consent=frozenset(subset(rng, list(range(1, custom + 1)), 0.5)),
            custom_purposes_li=frozenset(subset(rng, list(range(1, custom + 1)), 0.5)),
        )
        if rng.random() < 0.5
        else None,
    )


def test_the_reference_decoder_reads_strings_of_the_test_encoder_as_it_was_given(
    reference: Callable[[list[Fields], list[str]], Fields],
) -> None:
    rng = random.Random(20240302)
    records = [record(rng) for _ in range(RECORDS)]
    texts = [
        encode_tc_string(r, "range" if i % 2 else "bitfield", pad_to=rng.choice([6, 24]))
        for i, r in enumerate(records)
    ]
    decoded = reference([], texts)["decoded"]
    for given, text, result in zip(records, texts, decoded, strict=True):
        assert result == fields_of(given), text


def test_the_published_examples_decode_as_the_reference_decodes_them(
    reference: Callable[[list[Fields], list[str]], Fields],
) -> None:
    examples = [SPEC_2025, SPEC_2020, IABTCF_CLI]
    for text, result in zip(examples, reference([], examples)["decoded"], strict=True):
        assert fields_of(decode_tc_string(text)) == result
