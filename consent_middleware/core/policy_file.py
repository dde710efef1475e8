"""Reading a policy's declarations from TOML (stdlib ``tomllib``) or plain data.

Reading goes as far as it can and lists what it could not read; the rules that the entries
must follow together are in ``policy_rules.py``.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from os import PathLike
from typing import Any

from .exceptions import ConfigurationError
from .inventory import SIGNAL, Purpose, Segment, Signal

_POLICY_KEYS = {
    "version",
    "consent_lifetime_days",
    "ledger_retention_days",
    "last_updated",
    "purposes",
    "signals",
    "regions",
    "segments",
    "outcomes",
}
#: Settings given in days in a file, and the ``ConsentPolicy`` argument each one fills.
_DAY_SETTINGS = {
    "consent_lifetime_days": "consent_lifetime",
    "ledger_retention_days": "ledger_retention",
}
_PURPOSE_KEYS = {
    "id",
    "label",
    "description",
    "required",
    "implies",
    "cookies",
    "gpc_opt_out",
    "sensitive",
    "opt_out_allowed",
    "version",
    "granularity",
}
_SIGNAL_KEYS = {
    "id",
    "label",
    "purpose",
    "scope",
    "retention_days",
    "sensitive",
    "description",
    "choices",
    "weight",
    "weight_reason",
}
_SEGMENT_KEYS = {"id", "label", "signals", "values", "minimum", "description"}


def read_toml(path: str | PathLike[str]) -> dict[str, Any]:
    """The data in a policy file; a missing or invalid file is a :class:`ConfigurationError`."""
    try:
        with open(path, "rb") as file:
            return tomllib.load(file)
    except FileNotFoundError:
        raise ConfigurationError(f"policy file {str(path)!r} does not exist") from None
    except OSError as e:
        raise ConfigurationError(f"policy file {str(path)!r} cannot be read: {e}") from e
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        # TOML is UTF-8: a file saved in another encoding fails before parsing.
        raise ConfigurationError(f"policy file {str(path)!r} is not valid TOML: {e}") from e


def _check_keys(where: str, table: object, allowed: set[str]) -> Mapping[str, Any]:
    if not isinstance(table, Mapping):
        raise ConfigurationError(f"{where} must be a table")
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ConfigurationError(
            f"{where} has unknown key(s) {', '.join(unknown)} "
            f"(allowed: {', '.join(sorted(allowed))})"
        )
    return table


def _bool(where: str, table: Mapping[str, Any], key: str) -> bool:
    value = table.get(key, False)
    if not isinstance(value, bool):
        raise ConfigurationError(f"{where}: {key} must be true or false")
    return value


def _days(where: str, table: Mapping[str, Any], key: str) -> timedelta | None:
    value = table.get(key)
    if value is None:
        return None
    # "0 < value < inf" also refuses nan.
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < math.inf:
        raise ConfigurationError(f"{where}: {key} must be a positive number of days")
    try:
        return timedelta(days=value)
    except OverflowError:
        raise ConfigurationError(
            f"{where}: {key} is {value:g} days, more than Python's dates can count"
        ) from None


def _entries(data: Mapping[str, Any], key: str, problems: list[str]) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list):
        problems.append(f"{key} must be an array of tables ([[{key}]])")
        return []
    return value


def _purpose(index: int, table: object) -> Purpose:
    where = f"purposes[{index}]"
    item = _check_keys(where, table, _PURPOSE_KEYS)
    if "id" not in item or "label" not in item:
        raise ConfigurationError(f"{where} needs an id and a label")
    return Purpose(
        id=item["id"],
        label=item["label"],
        description=item.get("description", ""),
        required=_bool(where, item, "required"),
        implies=item.get("implies", ()),
        cookies=item.get("cookies", ()),
        gpc_opt_out=_bool(where, item, "gpc_opt_out"),
        sensitive=_bool(where, item, "sensitive"),
        opt_out_allowed=_bool(where, item, "opt_out_allowed"),
        version=item.get("version"),
        granularity=item.get("granularity", SIGNAL),
    )


def _signal(index: int, table: object) -> Signal:
    where = f"signals[{index}]"
    item = _check_keys(where, table, _SIGNAL_KEYS)
    if "id" not in item or "label" not in item or "purpose" not in item:
        raise ConfigurationError(f"{where} needs an id, a label and a purpose")
    return Signal(
        id=item["id"],
        label=item["label"],
        purpose=item["purpose"],
        scope=item.get("scope", "session"),
        retention=_days(where, item, "retention_days"),
        sensitive=_bool(where, item, "sensitive"),
        description=item.get("description", ""),
        choices=item.get("choices", ()),
        weight=item.get("weight", 1.0),
        weight_reason=item.get("weight_reason", ""),
    )


def _segment(index: int, table: object) -> Segment:
    where = f"segments[{index}]"
    item = _check_keys(where, table, _SEGMENT_KEYS)
    missing = [k for k in ("id", "label", "signals", "values") if k not in item]
    if missing:
        raise ConfigurationError(f"{where} needs an id, a label, signals and values")
    return Segment(
        id=item["id"],
        label=item["label"],
        signals=item["signals"],
        values=item["values"],
        minimum=item.get("minimum", 2),
        description=item.get("description", ""),
    )


@dataclass(frozen=True, slots=True)
class Declarations:
    """What a policy's plain data declares, read as far as it can be.

    ``purposes`` and ``signals`` are the entries that could be read; ``settings`` are the
    keyword arguments of ``ConsentPolicy`` besides those two (``version`` is ``None`` when
    missing); ``problems`` says why each other entry could not be read; ``unreadable`` holds
    the ids of the purposes among them.
    """

    purposes: tuple[Purpose, ...]
    signals: tuple[Signal, ...]
    settings: Mapping[str, Any]
    problems: tuple[str, ...]
    unreadable: frozenset[str]
    segments: tuple[Segment, ...] = ()


def read_declarations(data: Mapping[str, Any]) -> Declarations:
    """Every entry of ``data`` that can be read, and a problem for each one that cannot."""
    problems: list[str] = []
    try:
        _check_keys("policy", data, _POLICY_KEYS)
    except ConfigurationError as e:
        problems.append(str(e))
        if not isinstance(data, Mapping):
            data = {}
    settings: dict[str, Any] = {
        "version": data.get("version"),
        "last_updated": data.get("last_updated"),
        "regions": data.get("regions"),
    }
    if "outcomes" in data:
        settings["outcomes"] = data["outcomes"]
    for key, name in _DAY_SETTINGS.items():
        try:
            days = _days("policy", data, key)
        except ConfigurationError as e:
            problems.append(str(e))
        else:
            if days is not None:
                settings[name] = days
    purposes: list[Purpose] = []
    unreadable: set[str] = set()
    for i, table in enumerate(_entries(data, "purposes", problems)):
        try:
            purposes.append(_purpose(i, table))
        except ConfigurationError as e:
            problems.append(str(e))
            if isinstance(table, Mapping) and isinstance(table.get("id"), str):
                unreadable.add(table["id"])
    signals: list[Signal] = []
    for i, table in enumerate(_entries(data, "signals", problems)):
        try:
            signals.append(_signal(i, table))
        except ConfigurationError as e:
            problems.append(str(e))
    segments: list[Segment] = []
    for i, table in enumerate(_entries(data, "segments", problems)):
        try:
            segments.append(_segment(i, table))
        except ConfigurationError as e:
            problems.append(str(e))
    return Declarations(
        tuple(purposes),
        tuple(signals),
        settings,
        tuple(problems),
        frozenset(unreadable),
        tuple(segments),
    )
