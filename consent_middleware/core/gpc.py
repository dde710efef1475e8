"""Global Privacy Control: the ``Sec-GPC`` request header."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["gpc_enabled"]


def gpc_enabled(values: Iterable[str]) -> bool:
    """Whether any ``Sec-GPC`` header value is exactly ``1``.

    Every other value (``0``, ``true``, empty) and absence mean "no signal", which is not
    consent either. Several headers, or one folded with commas, count as on if any is ``1``.
    """
    for value in values:
        if value.strip(" \t") == "1":
            return True
        if "," in value and any(item.strip(" \t") == "1" for item in value.split(",")):
            return True
    return False
