"""Loading a :class:`ConsentPolicy` from TOML (stdlib ``tomllib``)."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from datetime import date, timedelta
from os import PathLike
from typing import Any

from .exceptions import ConfigurationError
from .policy import DEFAULT_CONSENT_LIFETIME, ConsentPolicy, Purpose, Signal

_POLICY_KEYS = {"version", "consent_lifetime_days", "last_updated", "purposes", "signals"}
_PURPOSE_KEYS = {
    "id",
    "label",
    "description",
    "required",
    "implies",
    "cookies",
    "gpc_opt_out",
    "sensitive",
}
_SIGNAL_KEYS = {
    "id",
    "label",
    "purpose",
    "scope",
    "retention_days",
    "sensitive",
    "description",
}


def load_policy(path: str | PathLike[str]) -> ConsentPolicy:
    """Read and validate a policy file; every problem is a :class:`ConfigurationError`."""
    try:
        with open(path, "rb") as file:
            data = tomllib.load(file)
    except FileNotFoundError:
        raise ConfigurationError(f"policy file {str(path)!r} does not exist") from None
    except OSError as e:
        raise ConfigurationError(f"policy file {str(path)!r} cannot be read: {e}") from e
    except tomllib.TOMLDecodeError as e:
        raise ConfigurationError(f"policy file {str(path)!r} is not valid TOML: {e}") from e
    try:
        return policy_from_mapping(data)
    except ConfigurationError as e:
        raise ConfigurationError(f"policy file {str(path)!r}: {e}") from e


def _check_keys(where: str, table: object, allowed: set[str]) -> Mapping[str, Any]:
    if not isinstance(table, Mapping):
        raise ConfigurationError(f"{where} must be a table")
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ConfigurationError(
            f"{where} has unknown key(s) {', '.join(unknown)}; "
            f"allowed: {', '.join(sorted(allowed))}"
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
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigurationError(f"{where}: {key} must be a positive number of days")
    return timedelta(days=value)


def _entries(data: Mapping[str, Any], key: str) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise ConfigurationError(f"{key} must be an array of tables ([[{key}]])")
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
    )


def policy_from_mapping(data: Mapping[str, Any]) -> ConsentPolicy:
    """Build a policy from data shaped like the TOML file."""
    _check_keys("policy", data, _POLICY_KEYS)
    if "version" not in data:
        raise ConfigurationError("policy needs a version (change it whenever the purposes change)")
    last_updated = data.get("last_updated")
    if last_updated is not None and (
        not isinstance(last_updated, date) or hasattr(last_updated, "hour")
    ):
        raise ConfigurationError("policy last_updated must be a date such as 2026-11-29")
    return ConsentPolicy(
        [_purpose(i, table) for i, table in enumerate(_entries(data, "purposes"))],
        version=data["version"],
        signals=[_signal(i, table) for i, table in enumerate(_entries(data, "signals"))],
        consent_lifetime=_days("policy", data, "consent_lifetime_days") or DEFAULT_CONSENT_LIFETIME,
        last_updated=last_updated,
    )
