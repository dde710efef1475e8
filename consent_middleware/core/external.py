"""Decisions that other consent managers recorded: the sources that read their cookies, and
the reader that asks them, in order, when a visitor has no consent cookie of ours.

A source turns its manager's cookie into what the visitor consented to there (OneTrust's
groups, Cookiebot's categories, TCF's purposes) and a mapping turns that into purposes of
the policy. Nothing here is signed by us: a decision read this way is what the visitor's
browser claims, as that manager's own scripts read it.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Generic, TypeVar

from .cookies import cookie_values, is_cookie_name
from .exceptions import ConfigurationError
from .policy import ConsentPolicy

__all__ = [
    "MAX_EXTERNAL_VALUE",
    "ExternalDecision",
    "ExternalReader",
    "ExternalSource",
    "purposes_by_key",
    "unquoted",
]

logger = logging.getLogger("consent_middleware")

K = TypeVar("K", bound=Hashable)

#: Longer values of another manager's cookie are refused unread: browsers keep 4 KB a cookie.
MAX_EXTERNAL_VALUE = 4096
#: Decoded values each source remembers (a TC string costs tens of microseconds to decode).
_REMEMBERED_VALUES = 1024
#: ``Cookie`` headers up to this length are remembered with their decision, the last so many.
_REMEMBERED_HEADER = 4096
_REMEMBERED_HEADERS = 1024


@dataclass(frozen=True, slots=True)
class ExternalDecision:
    """The purposes another consent manager's cookie grants this browser.

    ``source`` is the source's short name (``"onetrust"``, ``"cookiebot"``, ``"tcf"``),
    ``label`` the name a shopper knows it by (``"OneTrust"``); ``granted`` holds purposes of
    the policy, the required ones and those the granted ones imply included.
    """

    source: str
    label: str
    granted: frozenset[str]


class ExternalSource(ABC, Generic[K]):
    """Another consent manager whose cookie can decide a visitor's grants.

    A subclass names the manager (:attr:`name`, :attr:`label`) and reads its cookie
    (:meth:`consents`); the mapping, checked against the policy when the middleware is
    built, says which of the manager's keys each purpose needs (all of them).
    """

    #: The short name a context reports as ``ctx.source``.
    name: str = ""
    #: How shoppers know the manager: explanations say "in this site's <label> banner".
    label: str = ""

    def __init__(
        self,
        *,
        cookie: str,
        requirements: Mapping[str, frozenset[K]] | None,
        default: Mapping[str, frozenset[K]],
    ) -> None:
        if not is_cookie_name(cookie):
            raise ConfigurationError(
                f"{type(self).__name__}(cookie={cookie!r}): give the name of the consent "
                "manager's cookie, e.g. the default"
            )
        #: The cookie the manager keeps its record in.
        self.cookie = cookie
        #: Whether the mapping was given (checked strictly) or is the default (purposes the
        #: policy does not declare are left out).
        self.configured = requirements is not None
        #: Purpose id -> the manager's keys it needs, every one of them.
        self.requirements: dict[str, frozenset[K]] = dict(
            default if requirements is None else requirements
        )
        if not self.requirements:
            raise ConfigurationError(
                f"{type(self).__name__} maps nothing: give at least one purpose, or leave "
                "the mapping out for the default"
            )

    @abstractmethod
    def consents(self, value: str) -> frozenset[K] | None:
        """The keys the cookie's ``value`` records as consented, or ``None`` when it records
        no decision (garbage included). Never raises."""

    def requirements_for(self, policy: ConsentPolicy) -> dict[str, frozenset[K]]:
        """The mapping for ``policy``; a purpose it does not declare, or a required one, in
        a given mapping raises :class:`ConfigurationError` naming the fix."""
        kept: dict[str, frozenset[K]] = {}
        for purpose_id, keys in self.requirements.items():
            if purpose_id not in policy:
                if not self.configured:
                    continue  # a default for a purpose this policy does without
                declared = ", ".join(p.id for p in policy.purposes)
                raise ConfigurationError(
                    f"{self!r} maps to purpose {purpose_id!r}, which the policy does not "
                    f"declare: use one of {declared}"
                )
            if policy.purpose(purpose_id).required:
                raise ConfigurationError(
                    f"{self!r} maps to {purpose_id!r}, which is required and always "
                    "granted: leave it out of the mapping"
                )
            kept[purpose_id] = keys
        return kept

    def __repr__(self) -> str:
        return f"{type(self).__name__}(cookie={self.cookie!r})"


def unquoted(value: str) -> str:
    """A cookie value without the double quotes RFC 6265 allows around it."""
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def purposes_by_key(
    mapping: object,
    *,
    owner: str,
    what: str,
    check_key: Callable[[object], bool],
    example: str,
) -> dict[str, frozenset[str]]:
    """A ``key -> purpose id or ids`` mapping (OneTrust's groups, Cookiebot's categories)
    turned round: ``purpose id -> the keys it needs``."""
    if not isinstance(mapping, Mapping):
        raise ConfigurationError(f"{owner}({what}=...) must be a mapping, e.g. {example}")
    needed: dict[str, set[str]] = {}
    for key, purposes in mapping.items():
        if not check_key(key):
            raise ConfigurationError(f"{owner}({what}=...) has {key!r}: use keys such as {example}")
        ids = [purposes] if isinstance(purposes, str) else purposes
        if not isinstance(ids, Iterable) or not all(isinstance(p, str) and p for p in ids):
            raise ConfigurationError(
                f"{owner}({what}=...) maps {key!r} to {purposes!r}: give a purpose id or a "
                f"list of them, e.g. {example}"
            )
        for purpose_id in ids:
            needed.setdefault(purpose_id, set()).add(str(key))
    return {purpose_id: frozenset(keys) for purpose_id, keys in needed.items()}


class _Bound:
    """One source with its mapping for the policy, and the decisions it has read."""

    def __init__(self, source: ExternalSource[Any], policy: ConsentPolicy) -> None:
        self.source = source
        self.key = source.cookie + "="
        self.requirements = tuple(source.requirements_for(policy).items())
        self.policy = policy
        # A browser sends the same value again and again: it is decoded once.
        self.decide = lru_cache(maxsize=_REMEMBERED_VALUES)(self._decide)

    def _decide(self, value: str) -> ExternalDecision | None:
        try:
            consented = self.source.consents(value)
        except Exception:  # a source must not fail a request, even a custom one
            logger.exception("%r could not read its cookie; it decides nothing", self.source)
            return None
        if consented is None:
            return None
        chosen = [pid for pid, keys in self.requirements if keys <= consented]
        return ExternalDecision(self.source.name, self.source.label, self.policy.grant(chosen))


class ExternalReader:
    """The external sources of a middleware, checked against its policy.

    :meth:`read` asks each in order; the first whose cookie records a decision decides.
    """

    def __init__(self, policy: ConsentPolicy, sources: Iterable[object]) -> None:
        bound: list[_Bound] = []
        cookies: set[str] = set()
        for source in sources:
            if not isinstance(source, ExternalSource):
                raise ConfigurationError(
                    f"external must list consent manager sources such as OneTrust(), "
                    f"Cookiebot() or TCF() from consent_middleware.interop, not "
                    f"{type(source).__name__} {source!r}"
                )
            if not (isinstance(source.name, str) and source.name and source.label):
                raise ConfigurationError(
                    f"{source!r} has no name or label: set both on the class, e.g. "
                    "name = 'didomi', label = 'Didomi'"
                )
            if source.cookie in cookies:
                raise ConfigurationError(
                    f"external lists two sources of cookie {source.cookie!r}: keep one"
                )
            cookies.add(source.cookie)
            bound.append(_Bound(source, policy))
        self._sources = tuple(bound)
        #: The sources, in the order they are asked.
        self.sources: tuple[ExternalSource[Any], ...] = tuple(b.source for b in bound)
        # A browser sends the same header again and again (and the engine has just hashed
        # it): then the decision costs one lookup.
        self._known = lru_cache(maxsize=_REMEMBERED_HEADERS)(self._read)

    def read(self, cookie_header: str) -> ExternalDecision | None:
        """The decision of the first source whose cookie records one, or ``None``.

        A cookie sent twice with different values (one shadowing the other) proves nothing;
        a value over :data:`MAX_EXTERNAL_VALUE` is refused unread.
        """
        if len(cookie_header) <= _REMEMBERED_HEADER:
            return self._known(cookie_header)
        return self._read(cookie_header)

    def _read(self, cookie_header: str) -> ExternalDecision | None:
        for bound in self._sources:
            values = cookie_values(cookie_header, bound.key)
            if not values:
                continue
            value = values[0]
            if len(values) > 1 and any(other != value for other in values):
                logger.debug("%s cookie sent twice with different values", bound.source.name)
                continue
            if len(value) > MAX_EXTERNAL_VALUE:
                logger.debug("%s cookie refused: oversized", bound.source.name)
                continue
            decision = bound.decide(value)
            if decision is not None:
                return decision
        return None
