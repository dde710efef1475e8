"""First-party data kept about a visitor: this visit's behaviour and stated preferences.

Both are reached through the request's context (``ctx.visit``, ``ctx.preferences``) and
both refuse to read or write a signal the visitor has not allowed. The visit is kept in a
signed session cookie without any identifier; preferences in a signed cookie that lasts as
long as the longest retention declared, or in a :class:`PreferenceBackend` of the host's.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

from itsdangerous import BadData

from .exceptions import ConsentError
from .inventory import Scope, Signal
from .policy import ConsentPolicy
from .signing import make_serializer


class StoreOwner(Protocol):
    """What a store needs from the request's context."""

    policy: ConsentPolicy
    touched: bool

    def check(self, signal_id: str) -> Signal: ...

    def use(self, signal_id: str) -> Signal: ...


__all__ = [
    "MemoryPreferenceBackend",
    "PreferenceBackend",
    "SignalStore",
    "StoreCodec",
]

StoredData = dict[str, list[str]]

#: How many values a signal keeps unless told otherwise (newest first).
DEFAULT_KEEP = 20
MAX_VALUE_LENGTH = 200
#: The encoded data stays well under the browsers' 4096-byte cookie limit.
MAX_ENCODED_BYTES = 3000


class PreferenceBackend(Protocol):
    """Server-side storage for stated preferences, keyed by the pseudonymous consent id.

    Called while a response is sent: keep it fast. ``load`` returns ``{}`` for an unknown id.
    """

    def load(self, consent_id: str) -> Mapping[str, Sequence[str]]: ...

    def save(self, consent_id: str, data: Mapping[str, Sequence[str]]) -> None: ...

    def delete(self, consent_id: str) -> None: ...


class MemoryPreferenceBackend:
    """Preferences in this process's memory: for tests and single-process demos."""

    def __init__(self) -> None:
        self._data: dict[str, StoredData] = {}
        self._lock = threading.Lock()

    def load(self, consent_id: str) -> Mapping[str, Sequence[str]]:
        with self._lock:
            return {k: list(v) for k, v in self._data.get(consent_id, {}).items()}

    def save(self, consent_id: str, data: Mapping[str, Sequence[str]]) -> None:
        with self._lock:
            self._data[consent_id] = {k: list(v) for k, v in data.items()}

    def delete(self, consent_id: str) -> None:
        with self._lock:
            self._data.pop(consent_id, None)


class StoreCodec:
    """Signs and reads the data of one store kept in a cookie (never raises on bad input)."""

    def __init__(self, policy: ConsentPolicy, keys: list[bytes], scope: Scope) -> None:
        self.policy = policy
        self.scope = scope
        self._serializer = make_serializer(keys, f"consent_middleware.{scope.value}")

    def encode(self, data: Mapping[str, Sequence[str]]) -> str:
        """The signed cookie value for ``data``."""
        value = self._serializer.dumps({k: list(v) for k, v in data.items() if v})
        return value if isinstance(value, str) else value.decode("ascii")

    def decode(self, value: str | None) -> StoredData:
        """The data in a cookie value; anything invalid or foreign reads as empty."""
        if not value or len(value) > 4096:
            return {}
        try:
            raw = self._serializer.loads(value)
        except (BadData, ValueError, UnicodeError):
            return {}
        return clean(self.policy, self.scope, raw)


def clean(policy: ConsentPolicy, scope: Scope, raw: object) -> StoredData:
    """Only well-formed values of declared signals of ``scope``."""
    if not isinstance(raw, Mapping):
        return {}
    data: StoredData = {}
    for key, values in raw.items():
        try:
            signal = policy.signal(key)
        except (KeyError, TypeError):
            continue
        if signal.scope is not scope or not isinstance(values, list):
            continue
        kept = [v for v in values if isinstance(v, str) and len(v) <= MAX_VALUE_LENGTH]
        if kept:
            data[key] = kept
    return data


def fits(data: Mapping[str, Sequence[str]]) -> bool:
    """Whether ``data`` encodes within the cookie budget (its JSON size gives the bound)."""
    return len(json.dumps(data, separators=(",", ":"))) * 4 // 3 + 100 <= MAX_ENCODED_BYTES


class SignalStore:
    """The stored values of one kind of signal (``session`` or ``persistent``) for one
    request.

    Every read marks the signal as used by the response and every write checks consent:
    a signal the visitor has not allowed raises :class:`ConsentRequired`. Clearing is always
    allowed. Changes are written when the response starts.
    """

    def __init__(self, ctx: StoreOwner, scope: Scope, data: StoredData) -> None:
        self._ctx = ctx
        self.scope = scope
        self._data = data
        #: Changed during this request: the response must write it.
        self.dirty = False

    def _signal(self, signal_id: str) -> Signal:
        signal = self._ctx.policy.signal(signal_id) if signal_id in self._ids() else None
        if signal is None:
            raise ConsentError(
                f"{signal_id!r} is not a declared {self.scope.value} signal; "
                f"{self.scope.value} signals: {', '.join(self._ids()) or 'none'}"
            )
        return signal

    def _ids(self) -> list[str]:
        return [s.id for s in self._ctx.policy.signals if s.scope is self.scope]

    def get(self, signal_id: str) -> list[str]:
        """The stored values, newest first; the response is then built with the signal."""
        self._signal(signal_id)
        self._ctx.use(signal_id)
        return list(self._data.get(signal_id, ()))

    def add(self, signal_id: str, value: str, *, keep: int = DEFAULT_KEEP) -> None:
        """Put ``value`` first, dropping an older copy and all but the newest ``keep``."""
        self._signal(signal_id)
        self._ctx.check(signal_id)
        value = _checked_value(value)
        values = [value, *(v for v in self._data.get(signal_id, ()) if v != value)][:keep]
        self._store(signal_id, values)

    def set(self, signal_id: str, values: Iterable[str]) -> None:
        """Replace the stored values (an empty list removes them)."""
        self._signal(signal_id)
        self._ctx.check(signal_id)
        self._store(signal_id, list(dict.fromkeys(_checked_value(v) for v in values)))

    def clear(self, signal_id: str | None = None) -> None:
        """Remove one signal's values, or everything this store holds."""
        if signal_id is None:
            changed = bool(self._data)
            self._data = {}
        else:
            self._signal(signal_id)
            changed = self._data.pop(signal_id, None) is not None
        if changed:
            self.dirty = self._ctx.touched = True

    def export(self) -> StoredData:
        """A copy of everything held, for the shopper's own download."""
        return {k: list(v) for k, v in self._data.items()}

    def _store(self, signal_id: str, values: list[str]) -> None:
        data = (
            {**self._data, signal_id: values}
            if values
            else {k: v for k, v in self._data.items() if k != signal_id}
        )
        # Oldest values go first when the cookie budget is reached.
        while not fits(data) and data.get(signal_id):
            data[signal_id] = data[signal_id][:-1]
        if data != self._data:
            self._data = data
            self.dirty = self._ctx.touched = True


def _checked_value(value: object) -> str:
    if not isinstance(value, str):
        raise ConsentError(f"stored values must be strings, not {type(value).__name__}")
    if len(value) > MAX_VALUE_LENGTH:
        raise ConsentError(f"stored values are {MAX_VALUE_LENGTH} characters at most")
    return value
