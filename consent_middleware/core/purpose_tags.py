"""The tag a consent cookie records for each purpose a shopper chose about.

A tag is eight base64url characters: four name the purpose (a digest of its id) and four
its terms (a digest of its own ``version`` and of every flag that decides what granting it
means). A cookie keeps the tags of the purposes chosen, so a later policy finds each choice
by its purpose, whatever was added or reordered since, and asks again about a purpose whose
terms changed (whose first four characters still match: "changed", not "new").
"""

from __future__ import annotations

import base64
import hashlib
import json

from .inventory import Purpose

__all__ = ["TAG_LENGTH", "id_tag", "purpose_tag"]

#: The length of a tag; the first half names the purpose.
TAG_LENGTH = 8


def _digest(kind: str, value: object) -> str:
    text = json.dumps([kind, value], separators=(",", ":"))
    return base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()[:3]).decode()


def id_tag(purpose_id: str) -> str:
    """The first half of a purpose's tags: the same under every version of the purpose."""
    return _digest("consent-purpose-1", purpose_id)


def purpose_tag(purpose: Purpose) -> str:
    """The tag a choice about ``purpose``, as declared now, is recorded under."""
    terms = [
        purpose.version,
        purpose.required,
        purpose.sensitive,
        purpose.gpc_opt_out,
        sorted(set(purpose.implies)),
    ]
    return id_tag(purpose.id) + _digest("consent-terms-1", [purpose.id, terms])
