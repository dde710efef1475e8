"""Texts a policy gives the shopper, in one language or in several.

A purpose's or a signal's ``label`` and ``description`` is either a plain string, one text
shown in every language, or a mapping of language tags to texts::

    {"en": "Personalisation", "de": "Personalisierung"}

The text shown in a language is the one given for it (``de`` also serves ``de-CH``), else
the one given for the fallback language (the shop's first), else the first one given.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from .exceptions import ConfigurationError

__all__ = ["Text", "check_text", "languages_of", "text_for"]

#: A language tag of a policy text: ``en``, ``pt-BR``, ``zh-Hant-TW`` (BCP 47's shape,
#: without checking its registry).
_TAG = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*\Z")


def _lookup(index: Mapping[str, str], language: str) -> str | None:
    """The text given for ``language`` or, shortened from the right, a broader tag
    (RFC 4647 lookup: ``de-CH`` finds ``de``)."""
    tag = language.lower()
    while tag:
        found = index.get(tag)
        if found is not None:
            return found
        tag = tag.rpartition("-")[0]
        if "-" in tag and len(tag.rpartition("-")[2]) == 1:
            # A one-letter subtag only introduces the next: "x" of "de-x-private".
            tag = tag.rpartition("-")[0]
    return None


class Text(str):
    """A text given per language; as a ``str`` it is the first text given.

    So code written for plain labels (``purpose.label``) keeps working. :meth:`get` gives
    the text for a language.
    """

    #: The texts by language tag, as given.
    texts: Mapping[str, str]
    _index: dict[str, str]

    def __new__(cls, texts: Mapping[str, str]) -> Text:
        given = dict(texts)
        if not given:
            raise ValueError("a Text needs a text in at least one language")
        self = super().__new__(cls, next(iter(given.values())))
        self.texts = MappingProxyType(given)
        self._index = {tag.lower(): text for tag, text in given.items()}
        return self

    @property
    def languages(self) -> tuple[str, ...]:
        """The language tags a text is given for, in the order given."""
        return tuple(self.texts)

    def get(self, language: str, fallback: str | None = None) -> str:
        """The text in ``language``, else in ``fallback``, else the first one given."""
        found = _lookup(self._index, language)
        if found is None and fallback is not None:
            found = _lookup(self._index, fallback)
        return next(iter(self.texts.values())) if found is None else found

    def has(self, language: str) -> bool:
        """Whether a text is given for ``language`` (or for a broader tag of it)."""
        return _lookup(self._index, language) is not None

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Text):
            # In order: the first text is the one the Text reads as.
            return list(self.texts.items()) == list(other.texts.items())
        return str.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    def __hash__(self) -> int:
        return str.__hash__(self)

    def __repr__(self) -> str:
        return f"Text({dict(self.texts)!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Copies and pickles are made from the texts, not from the first one alone.
        return (Text, (dict(self.texts),))


def text_for(value: str | Mapping[str, str], language: str, fallback: str | None = None) -> str:
    """``value`` (a plain string, or a :class:`Text`) in ``language``, else in ``fallback``
    (the shop's first language), else its first text."""
    if isinstance(value, Text) or not isinstance(value, str):
        return _as_text(value).get(language, fallback)
    return value


def languages_of(value: str | Mapping[str, str]) -> tuple[str, ...]:
    """The language tags a text is given for: none for a plain string."""
    if isinstance(value, Text) or not isinstance(value, str):
        return _as_text(value).languages
    return ()


def _as_text(value: Text | Mapping[str, str]) -> Text:
    # Purposes and signals hold a checked Text already; a bare mapping is read as one.
    return value if isinstance(value, Text) else Text(value)


def check_text(where: str, name: str, value: object, *, required: bool = True) -> str:
    """``value`` as a plain string or a :class:`Text`; a mistake is a
    :class:`ConfigurationError` that names ``where`` and the fix."""
    if isinstance(value, str) and not isinstance(value, Text):
        if required and not value.strip():
            raise ConfigurationError(f"{where}: {name} must be a non-empty string")
        return value
    given = value.texts if isinstance(value, Text) else value
    if not isinstance(given, Mapping):
        raise ConfigurationError(
            f"{where}: {name} must be a non-empty string, or one text per language such as "
            "{'en': '...', 'de': '...'}"
        )
    if not given:
        raise ConfigurationError(
            f"{where}: {name} is an empty mapping: give one text per language such as "
            "{'en': '...', 'de': '...'}, or one string"
        )
    seen: dict[str, object] = {}
    for tag, text in given.items():
        if not isinstance(tag, str) or not _TAG.match(tag):
            raise ConfigurationError(
                f"{where}: {name} has a text for {tag!r}, which is not a language tag: use "
                "tags such as 'en', 'de' or 'pt-BR'"
            )
        if tag.lower() in seen:
            raise ConfigurationError(
                f"{where}: {name} gives {seen[tag.lower()]!r} and {tag!r}, the same language: "
                "keep one"
            )
        seen[tag.lower()] = tag
        if not isinstance(text, str) or not text.strip():
            raise ConfigurationError(
                f"{where}: {name} in {tag!r} must be a non-empty string (leave out a language "
                "that has no text)"
            )
    return value if isinstance(value, Text) else Text(given)
