"""An IAB TCF CMP's ``euconsent-v2`` cookie as a source of grants."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .exceptions import ConfigurationError, TCStringError
from .external import ExternalSource, unquoted
from .policy import ANALYTICS, MARKETING, PERSONALISATION, SESSION_PERSONALISATION
from .tc_string import decode_tc_string

__all__ = ["DEFAULT_TCF_PURPOSES", "TCF"]

#: The TCF purposes each purpose of ours needs. 1 store and/or access information on a
#: device; 3 create profiles for personalised advertising, 4 use them to select
#: personalised advertising; 5 create profiles to personalise content, 6 use them to select
#: personalised content; 8 measure content performance.
DEFAULT_TCF_PURPOSES: Mapping[str, tuple[int, ...]] = {
    SESSION_PERSONALISATION: (1, 5, 6),
    PERSONALISATION: (1, 5, 6),
    MARKETING: (1, 3, 4),
    ANALYTICS: (1, 8),
}
# PurposesConsent is a field of 24 bits.
_PURPOSES = range(1, 25)
_VENDORS = range(1, 65536)


def _checked(purposes: object) -> dict[str, frozenset[int]]:
    example = "{'analytics': [1, 8], 'marketing': [1, 3, 4]}"
    if not isinstance(purposes, Mapping):
        raise ConfigurationError(f"TCF(purposes=...) must be a mapping, e.g. {example}")
    needed: dict[str, frozenset[int]] = {}
    for purpose_id, numbers in purposes.items():
        if not isinstance(purpose_id, str) or not purpose_id:
            raise ConfigurationError(f"TCF(purposes=...) keys are purpose ids, e.g. {example}")
        if isinstance(numbers, str | bytes) or not isinstance(numbers, Iterable):
            raise ConfigurationError(
                f"TCF(purposes=...) maps {purpose_id!r} to {numbers!r}: give the TCF purpose "
                f"numbers it needs, e.g. {example}"
            )
        listed = list(numbers)
        if not listed or not all(type(n) is int and n in _PURPOSES for n in listed):
            raise ConfigurationError(
                f"TCF(purposes=...) maps {purpose_id!r} to {numbers!r}: give one or more TCF "
                f"purpose numbers from 1 to 24, e.g. {example}"
            )
        needed[purpose_id] = frozenset(listed)
    return needed


class TCF(ExternalSource[int]):
    """An IAB TCF v2 CMP's TC string (cookie ``euconsent-v2``) as a source of grants.

    ``purposes`` maps purpose ids to the TCF purposes each needs, all of them consented
    (legitimate interest does not count). The default: both personalisation purposes need
    1, 5 and 6; ``marketing`` 1, 3 and 4; ``analytics`` 1 and 8. Vendor consents are not
    read unless ``vendor`` names this site's own vendor id: then a string without that
    vendor's consent grants nothing. A string that does not decode decides nothing.
    """

    name = "tcf"
    label = "IAB TCF"

    def __init__(
        self,
        purposes: Mapping[str, Iterable[int]] | None = None,
        *,
        vendor: int | None = None,
        cookie: str = "euconsent-v2",
    ) -> None:
        if vendor is not None and (type(vendor) is not int or vendor not in _VENDORS):
            raise ConfigurationError(
                f"TCF(vendor={vendor!r}): give your vendor id in the Global Vendor List "
                "(1 to 65535), or leave it out to read purposes only"
            )
        #: This site's vendor id, whose consent is needed too, or ``None``.
        self.vendor = vendor
        super().__init__(
            cookie=cookie,
            requirements=None if purposes is None else _checked(purposes),
            default=_checked(DEFAULT_TCF_PURPOSES),
        )

    def consents(self, value: str) -> frozenset[int] | None:
        try:
            tc = decode_tc_string(unquoted(value))
        except TCStringError:
            return None
        if self.vendor is not None and self.vendor not in tc.vendor_consents:
            return frozenset()
        return tc.purposes_consent
