"""Reading a policy's declarations from TOML (stdlib ``tomllib``) or plain data."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from os import PathLike
from typing import Any

from .exceptions import ConfigurationError
from .inventory import Purpose, Signal

_POLICY_KEYS = {
    "version",
    "consent_lifetime_days",
    "ledger_retention_days",
    "last_updated",
    "purposes",
    "signals",
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
}


def read_toml(path: str | PathLike[str]) -> dict[str, Any]:
    """The data in a policy file; a missing or invalid file is a :class:`ConfigurationError`."""
    try:
        with open(path, "rb") as file:
            return tomllib.load(file)
    except FileNotFoundError:
        raise ConfigurationError(f"policy file {str(path)!r} does not exist") from None
    except OSError as e:
        raise ConfigurationError(f"policy file {str(path)!r} cannot be read: {e}") from e
    except tomllib.TOMLDecodeError as e:
        raise ConfigurationError(f"policy file {str(path)!r} is not valid TOML: {e}") from e


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
        choices=item.get("choices", ()),
    )


def policy_arguments(data: Mapping[str, Any]) -> tuple[list[Purpose], dict[str, Any]]:
    """The purposes and the keyword arguments of ``ConsentPolicy`` that ``data`` declares."""
    _check_keys("policy", data, _POLICY_KEYS)
    if "version" not in data:
        raise ConfigurationError("policy needs a version (change it whenever the purposes change)")
    last_updated = data.get("last_updated")
    if last_updated is not None and (
        not isinstance(last_updated, date) or isinstance(last_updated, datetime)
    ):
        raise ConfigurationError("policy last_updated must be a date such as 2026-11-29")
    arguments: dict[str, Any] = {
        "version": data["version"],
        "signals": [_signal(i, table) for i, table in enumerate(_entries(data, "signals"))],
        "last_updated": last_updated,
    }
    lifetime = _days("policy", data, "consent_lifetime_days")
    if lifetime is not None:
        arguments["consent_lifetime"] = lifetime
    retention = _days("policy", data, "ledger_retention_days")
    if retention is not None:
        arguments["ledger_retention"] = retention
    purposes = [_purpose(i, table) for i, table in enumerate(_entries(data, "purposes"))]
    return purposes, arguments
