"""The consent cookie: a compact signed record of one visitor's decision."""

from __future__ import annotations

import math
import re
import secrets
import string
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from itsdangerous import BadSignature

from .cookies import cookie_values
from .exceptions import ConfigurationError
from .policy import ConsentPolicy
from .purpose_tags import TAG_LENGTH
from .signing import check_secret_keys, make_signer

__all__ = ["ConsentCookieCodec", "ConsentState", "CookieProblem", "new_consent_id"]

_FORMAT = "2"
#: Larger values are refused unread; a valid one is about 100 bytes, and 8 more for each
#: optional purpose.
MAX_VALUE_BYTES = 1024
MAX_OPTIONAL_PURPOSES = 100
_CONSENT_ID = re.compile(r"[A-Za-z0-9_-]{16,64}\Z")
_BASE64URL = string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_"
_CANONICAL_LAST = frozenset(_BASE64URL[::4])
# A decision dated this far in the future is refused (clocks of several servers may differ).
_CLOCK_SKEW = 300
# The policy version's digest, the tags of the purposes granted and of those refused (eight
# characters each, see purpose_tags.py), the decision time and the consent id.
_PAYLOAD = re.compile(
    r"2\.(?P<fp>[0-9a-f]{10})\.(?P<granted>(?:[A-Za-z0-9_-]{8})*)"
    r"\.(?P<refused>(?:[A-Za-z0-9_-]{8})*)\.(?P<at>[0-9a-f]{1,12})\.(?P<id>[A-Za-z0-9_-]{16,64})\Z"
)
# The first format, still in browsers: the policy's layout digest, and one bit per optional
# purpose in declared order.
_PAYLOAD_1 = re.compile(
    r"1\.(?P<fp>[0-9a-f]{10})\.(?P<bits>[0-9a-f]{1,64})\.(?P<at>[0-9a-f]{1,12})"
    r"\.(?P<id>[A-Za-z0-9_-]{16,64})\Z"
)


def new_consent_id() -> str:
    """A random pseudonymous id for one browser's consent record."""
    return secrets.token_urlsafe(16)


@dataclass(frozen=True, slots=True)
class ConsentState:
    """A decision as the cookie records it.

    ``granted`` holds the purposes granted (required ones included); ``decided_at`` is the
    decision time in Unix seconds; ``consent_id`` links the decision to the ledger.
    ``pending`` holds the optional purposes the decision did not cover (added to the policy
    since, or whose own ``version`` changed): not granted, awaiting a choice. ``changed`` are
    those of them whose earlier version was chosen about; the others are new.
    """

    consent_id: str
    granted: frozenset[str]
    decided_at: int
    pending: frozenset[str] = frozenset()
    changed: frozenset[str] = frozenset()


class CookieProblem(StrEnum):
    """Why a consent cookie was not accepted (for logs; the value itself is never logged)."""

    MALFORMED = "malformed"
    OVERSIZED = "oversized"
    BAD_SIGNATURE = "bad_signature"
    OUTDATED = "outdated"
    EXPIRED = "expired"
    DUPLICATE = "duplicate"


class ConsentCookieCodec:
    """Signs and verifies consent cookie values for one policy.

    ``secret_keys`` are newest first: every key verifies, the first signs. Verified values
    are remembered with the time span in which they are valid, so a returning visitor's
    cookie costs a dictionary lookup and two comparisons, not an HMAC.
    """

    def __init__(
        self,
        policy: ConsentPolicy,
        secret_keys: Sequence[str | bytes],
        *,
        cache_size: int = 4096,
    ) -> None:
        self.policy = policy
        self._signer = make_signer(check_secret_keys(secret_keys), "consent_middleware.consent")
        self._optional = tuple(p.id for p in policy.optional)
        if len(self._optional) > MAX_OPTIONAL_PURPOSES:
            raise ConfigurationError(
                f"the policy has {len(self._optional)} optional purposes; at most "
                f"{MAX_OPTIONAL_PURPOSES} fit in the consent cookie"
            )
        self._lifetime = int(policy.consent_lifetime.total_seconds())
        # What the lists of tags say, read once per pair of lists: few pairs ever occur.
        self._choices = lru_cache(maxsize=cache_size)(self._read_choices)
        # What a value holds, and when (a problem holds at any time): verified once.
        self._entries = lru_cache(maxsize=cache_size)(self._entry)

    def encode(self, state: ConsentState) -> str:
        """The signed cookie value for ``state``: the tag of every optional purpose chosen
        about, as granted or refused (the pending ones have none)."""
        tags = self.policy.purpose_tags
        granted = refused = ""
        for purpose_id in self._optional:
            if purpose_id in state.granted:
                granted += tags[purpose_id]
            elif purpose_id not in state.pending:
                refused += tags[purpose_id]
        payload = (
            f"{_FORMAT}.{self.policy.version_stamp}.{granted}.{refused}"
            f".{state.decided_at:x}.{state.consent_id}"
        )
        return self._signer.sign(payload).decode("ascii")

    def decode(self, value: str, now: float) -> ConsentState | CookieProblem:
        """The state in ``value``, or why it is not valid at ``now`` (Unix seconds)."""
        if len(value) > MAX_VALUE_BYTES:
            return CookieProblem.OVERSIZED
        result, valid_from, valid_until = self._entries(value)
        return result if valid_from <= now <= valid_until else CookieProblem.EXPIRED

    def read(self, header: str, key: str, now: float) -> ConsentState | CookieProblem | None:
        """The state in the cookie ``key`` (its name and ``=``) of a ``Cookie`` header, why
        it is not valid at ``now``, or ``None`` when the header has no such cookie.

        Two different values for the cookie (one shadowing the other) prove nothing.
        """
        result, valid_from, valid_until = self.header_entry(header, key)
        return result if valid_from <= now <= valid_until else CookieProblem.EXPIRED

    def header_entry(self, header: str, key: str) -> Found:
        """What the cookie ``key`` of a ``Cookie`` header holds (as :meth:`read`), and the
        span of Unix times in which that is so: a caller may remember the answer for a
        header and only compare the time again."""
        values = cookie_values(header, key)
        if not values:
            return _NO_COOKIE
        if len(values) > 1 and len(set(values)) > 1:
            return _DUPLICATE
        if len(values[0]) > MAX_VALUE_BYTES:
            return _OVERSIZED
        return self._entries(values[0])

    def _entry(self, value: str) -> _Entry:
        result = self._verify(value)
        if isinstance(result, ConsentState):
            at = result.decided_at
            return (result, float(at - _CLOCK_SKEW), float(at + self._lifetime))
        return (result, -math.inf, math.inf)

    def _verify(self, value: str) -> ConsentState | CookieProblem:
        if not value.isascii():
            return CookieProblem.MALFORMED
        try:
            payload = self._signer.unsign(value).decode("ascii")
        except BadSignature:
            return CookieProblem.BAD_SIGNATURE
        # A SHA-256 signature is 43 base64 characters whose last one has 2 spare bits;
        # insist on the one canonical spelling so that no altered cookie verifies.
        signature = value.rpartition(".")[2]
        if len(signature) != 43 or signature[-1] not in _CANONICAL_LAST:
            return CookieProblem.BAD_SIGNATURE
        match = _PAYLOAD.match(payload)
        if match is None:
            first = _PAYLOAD_1.match(payload)
            return CookieProblem.MALFORMED if first is None else self._first_format(first)
        if match["fp"] != self.policy.version_stamp:
            return CookieProblem.OUTDATED
        choices = self._choices(match["granted"], match["refused"])
        if choices is None:
            return CookieProblem.MALFORMED
        granted, pending, changed = choices
        return ConsentState(match["id"], granted, int(match["at"], 16), pending, changed)

    def _read_choices(self, granted_list: str, refused_list: str) -> _Choices | None:
        """The purposes granted, those awaiting a choice, and those of them changed since,
        from a value's lists of tags; ``None`` if the lists are not ones we write."""
        granted_tags, refused_tags = _tags(granted_list), _tags(refused_list)
        if granted_tags is None or refused_tags is None or granted_tags & refused_tags:
            return None
        chosen = {tag[:4] for tag in granted_tags | refused_tags}
        granted, pending, changed = set(), set(), set()
        for purpose_id, tag in self.policy.purpose_tags.items():
            if tag in granted_tags:
                granted.add(purpose_id)
            elif tag not in refused_tags:
                # Not chosen about under these terms; under earlier ones if its name is there.
                pending.add(purpose_id)
                if tag[:4] in chosen:
                    changed.add(purpose_id)
        return (
            frozenset(granted) | self.policy.required_ids,
            frozenset(pending),
            frozenset(changed),
        )

    def _first_format(self, match: re.Match[str]) -> ConsentState | CookieProblem:
        """A value of the first format: valid while the policy keeps the layout it was
        written under. It predates purpose versions: a purpose that declares one awaits a
        choice again."""
        if match["fp"] != self.policy.fingerprint:
            return CookieProblem.OUTDATED
        bits = int(match["bits"], 16)
        if bits >> len(self._optional):
            return CookieProblem.MALFORMED
        granted = {pid for position, pid in enumerate(self._optional) if bits >> position & 1}
        versioned = frozenset(p.id for p in self.policy.optional if p.version is not None)
        return ConsentState(
            match["id"],
            frozenset(granted - versioned) | self.policy.required_ids,
            int(match["at"], 16),
            versioned,
            versioned,
        )

    def signed_consent_id(self, value: str) -> str | None:
        """The consent id in a value this server signed, even if expired or written under
        another policy: a renewed choice keeps the browser's pseudonymous id."""
        if len(value) > MAX_VALUE_BYTES or not value.isascii():
            return None
        try:
            payload = self._signer.unsign(value).decode("ascii")
        except BadSignature:
            return None
        consent_id = payload.rpartition(".")[2]
        return consent_id if _CONSENT_ID.match(consent_id) else None

    def max_value_length(self) -> int:
        """The length of the longest value this codec writes."""
        state = ConsentState("x" * 22, frozenset(self._optional), 2**40)
        return len(self.encode(state))


def _tags(joined: str) -> set[str] | None:
    """The tags of a list written by :meth:`ConsentCookieCodec.encode`; ``None`` if one is
    there twice (never written so)."""
    if not joined:
        return set()
    tags = {joined[i : i + TAG_LENGTH] for i in range(0, len(joined), TAG_LENGTH)}
    return tags if len(tags) * TAG_LENGTH == len(joined) else None


#: The purposes granted, those awaiting a choice, and those of them changed since.
_Choices = tuple[frozenset[str], frozenset[str], frozenset[str]]
#: What a cookie value holds, and the span of time in which that is valid.
_Entry = tuple[ConsentState | CookieProblem, float, float]
#: The same for a header, which may hold no consent cookie at all.
Found = tuple[ConsentState | CookieProblem | None, float, float]
_NO_COOKIE: Found = (None, -math.inf, math.inf)
_DUPLICATE: _Entry = (CookieProblem.DUPLICATE, -math.inf, math.inf)
_OVERSIZED: _Entry = (CookieProblem.OVERSIZED, -math.inf, math.inf)
