"""First-party data kept about a visitor: this visit's behaviour and stated preferences.

Both are reached through the request's context (``ctx.visit``, ``ctx.preferences``) and
both refuse to read or write a signal the visitor has not allowed. Every value is kept with
the time it was written and is dropped, when read, once its signal's retention has passed;
values of this visit last ``visit_lifetime`` at most. The visit is kept in an encrypted
session cookie without any identifier; preferences in an encrypted cookie that lasts as long
as the longest retention declared, or in a :class:`PreferenceBackend` of the host's. Both
cookies are bound to the consent of the browser that wrote them.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from typing import Protocol, TypeGuard

from .exceptions import ConsentError
from .inventory import Signal, SignalScope
from .policy import ConsentPolicy
from .sealing import Sealer, sealed_length


class StoreOwner(Protocol):
    """What a store needs from the request's context."""

    policy: ConsentPolicy
    #: Set when the store changed: the response must write it.
    must_write: bool

    def check(self, signal_id: str) -> Signal: ...

    def use(self, signal_id: str) -> Signal: ...


__all__ = [
    "DEFAULT_VISIT_LIFETIME",
    "MAX_VISIT_LIFETIME",
    "MemoryPreferenceBackend",
    "PreferenceBackend",
    "SignalStore",
    "StoreCodec",
]

#: A stored value and the time it was written (Unix seconds).
Entry = tuple[str, int]
#: A store's values by signal id, newest first, each with its write time.
StoredData = dict[str, list[Entry]]

#: How many values a signal keeps unless told otherwise (newest first).
DEFAULT_KEEP = 20
MAX_VALUE_LENGTH = 200
#: The sealed data stays well under the browsers' 4096-byte cookie limit.
MAX_ENCODED_BYTES = 3000
#: How long a value of this visit is kept unless ``visit_lifetime`` says otherwise.
DEFAULT_VISIT_LIFETIME = timedelta(hours=4)
#: Longer, and "this visit only" would become a profile across visits.
MAX_VISIT_LIFETIME = timedelta(days=1)
#: Where a signal's write times are kept beside its values (no signal id holds an "@").
WRITTEN = "@written"
# A value written this far in the future is refused (clocks of several servers may differ).
_CLOCK_SKEW = 300
_TIME = re.compile(r"[0-9]{1,12}")


class PreferenceBackend(Protocol):
    """Server-side storage for stated preferences, keyed by the pseudonymous consent id.

    Called while a response is sent: keep it fast. ``load`` returns ``{}`` for an unknown id
    and otherwise exactly what was last saved. Beside each signal's values the mapping holds
    their write times under ``"<signal id>@written"`` (Unix seconds, as text): values without
    a time are treated as expired.
    """

    def load(self, consent_id: str) -> Mapping[str, Sequence[str]]: ...

    def save(self, consent_id: str, data: Mapping[str, Sequence[str]]) -> None: ...

    def delete(self, consent_id: str) -> None: ...


class MemoryPreferenceBackend:
    """Preferences in this process's memory: for tests and single-process demos."""

    def __init__(self) -> None:
        self._data: dict[str, dict[str, list[str]]] = {}
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


def pack(data: StoredData) -> dict[str, list[str]]:
    """``data`` as plain text lists: each signal's values, and their write times under
    ``"<signal id>@written"``."""
    packed: dict[str, list[str]] = {}
    for key, entries in data.items():
        if entries:
            packed[key] = [value for value, _ in entries]
            packed[key + WRITTEN] = [str(written) for _, written in entries]
    return packed


def fits(data: StoredData) -> bool:
    """Whether ``data`` seals within the cookie budget."""
    return sealed_length(len(_json(pack(data)))) <= MAX_ENCODED_BYTES


def _json(packed: Mapping[str, Sequence[str]]) -> bytes:
    return json.dumps(packed, separators=(",", ":")).encode("ascii")


class StoreCodec:
    """Reads and writes the data of one store; never raises on bad input.

    A cookie value is sealed (:class:`Sealer`) under a key of its own scope and bound to
    the consent id of the browser that wrote it: in another browser, under another consent,
    it reads as empty. Reading drops every value older than its signal's retention, or than
    ``lifetime`` (the visit's), whichever is shorter.
    """

    def __init__(
        self,
        policy: ConsentPolicy,
        keys: list[bytes],
        scope: SignalScope,
        *,
        lifetime: timedelta | None = None,
    ) -> None:
        self.policy = policy
        self.scope = scope
        self._sealer = Sealer(keys, f"store.{scope.value}")
        self._limits: dict[str, int | None] = {}
        for signal in policy.signals:
            if signal.scope is scope:
                limits = [t for t in (signal.retention, lifetime) if t is not None]
                self._limits[signal.id] = int(min(limits).total_seconds()) if limits else None

    def _bound_to(self, consent_id: str) -> bytes:
        return f"{self.scope.value}\n{consent_id}".encode()

    def encode(self, data: StoredData, consent_id: str) -> str:
        """The sealed cookie value for ``data``, readable only under ``consent_id``."""
        return self._sealer.seal(_json(pack(data)), self._bound_to(consent_id))

    def decode(self, value: str | None, consent_id: str, now: int) -> tuple[StoredData, bool]:
        """The data in a cookie value still kept at ``now``, and whether anything in the
        value was dropped. Anything invalid, foreign or bound to another consent is empty."""
        if not value:
            return {}, False
        opened = self._sealer.open(value, self._bound_to(consent_id))
        if opened is None:
            return {}, True
        try:
            raw = json.loads(opened)
        except (ValueError, UnicodeError):
            return {}, True
        return self.unpack(raw, now)

    def unpack(self, raw: object, now: int) -> tuple[StoredData, bool]:
        """The well-formed values of declared signals of this scope in ``raw`` (as
        :func:`pack` gives it) still kept at ``now``, and whether anything was dropped."""
        if not isinstance(raw, Mapping):
            return {}, True
        data: StoredData = {}
        dropped = False
        for key, values in raw.items():
            if not isinstance(key, str):
                dropped = True
                continue
            if key.endswith(WRITTEN) and key.removesuffix(WRITTEN) in raw:
                continue  # read with its values
            times = raw.get(key + WRITTEN)
            if (
                key not in self._limits
                or not _is_list(values)
                or not _is_list(times)
                or len(times) != len(values)
            ):
                dropped = True
                continue
            limit = self._limits[key]
            kept = [
                (value, int(written))
                for value, written in zip(values, times, strict=True)
                if isinstance(value, str)
                and len(value) <= MAX_VALUE_LENGTH
                and isinstance(written, str)
                and _TIME.fullmatch(written)
                and int(written) <= now + _CLOCK_SKEW
                and (limit is None or now < int(written) + limit)
            ]
            dropped = dropped or len(kept) != len(values)
            if kept:
                data[key] = kept
        return data, dropped


def _is_list(value: object) -> TypeGuard[Sequence[object]]:
    return isinstance(value, Sequence) and not isinstance(value, str | bytes)


class SignalStore:
    """The stored values of one kind of signal (``session`` or ``persistent``) for one
    request.

    Every read marks the signal as used by the response and every write checks consent:
    a signal the visitor has not allowed raises :class:`ConsentRequired`. Clearing is always
    allowed. Values are stamped with the time they are written (``now``, the request's
    time); changes are written when the response starts.
    """

    def __init__(
        self,
        ctx: StoreOwner,
        scope: SignalScope,
        data: StoredData,
        now: int,
        *,
        stale: bool = False,
    ) -> None:
        self._ctx = ctx
        self.scope = scope
        self._data = data
        self._now = now
        #: Changed during this request (or read with expired or invalid values dropped):
        #: the response must write it.
        self.dirty = stale
        if stale:
            ctx.must_write = True

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
        """The stored values, newest first; the response is then built with the signal.

        A signal whose purpose gives only segments (``granularity = "segment"``) is never
        read this way: :class:`ConsentError`; use ``ctx.segments()``.
        """
        self._signal(signal_id)
        if not self._ctx.policy.gives_values(signal_id):
            raise ConsentError(
                f"signal {signal_id!r} belongs to a purpose that gives only segments "
                '(granularity = "segment"): read ctx.segments() instead of its values'
            )
        return self._values(signal_id)

    def _values(self, signal_id: str) -> list[str]:
        # Whatever the granularity: the context's segments() reads them here.
        self._ctx.use(signal_id)
        return [value for value, _ in self._data.get(signal_id, ())]

    def add(self, signal_id: str, value: str, *, keep: int = DEFAULT_KEEP) -> None:
        """Put ``value`` first, dropping an older copy and all but the newest ``keep``."""
        self._signal(signal_id)
        self._ctx.check(signal_id)
        value = _checked_value(value)
        older = (entry for entry in self._data.get(signal_id, ()) if entry[0] != value)
        self._store(signal_id, [(value, self._now), *older][:keep])

    def set(self, signal_id: str, values: Iterable[str]) -> None:
        """Replace the stored values (an empty list removes them); all are written now."""
        self._signal(signal_id)
        self._ctx.check(signal_id)
        checked = dict.fromkeys(_checked_value(v) for v in values)
        self._store(signal_id, [(value, self._now) for value in checked])

    def clear(self, signal_id: str | None = None) -> None:
        """Remove one signal's values, or everything this store holds."""
        if signal_id is None:
            changed = bool(self._data)
            self._data = {}
        else:
            self._signal(signal_id)
            changed = self._data.pop(signal_id, None) is not None
        if changed:
            self.dirty = self._ctx.must_write = True

    def remove(self, signal_id: str, value: str) -> bool:
        """Remove one stored value ("Forget this item"); whether it was held. Always
        allowed, as clearing is."""
        self._signal(signal_id)
        entries = self._data.get(signal_id, [])
        kept = [entry for entry in entries if entry[0] != value]
        if len(kept) == len(entries):
            return False
        self._store(signal_id, kept)
        return True

    def export(self) -> dict[str, list[str]]:
        """A copy of every value held, for the shopper's own download."""
        return {k: [value for value, _ in entries] for k, entries in self._data.items()}

    def entries(self) -> StoredData:
        """A copy of everything held with the times it was written, to store it."""
        return {k: list(entries) for k, entries in self._data.items()}

    def _store(self, signal_id: str, entries: list[Entry]) -> None:
        data = (
            {**self._data, signal_id: entries}
            if entries
            else {k: v for k, v in self._data.items() if k != signal_id}
        )
        # Oldest values go first when the cookie budget is reached.
        while not fits(data) and data.get(signal_id):
            data[signal_id] = data[signal_id][:-1]
        if not data.get(signal_id, True):
            del data[signal_id]
        if data != self._data:
            self._data = data
            self.dirty = self._ctx.must_write = True


def _checked_value(value: object) -> str:
    if not isinstance(value, str):
        raise ConsentError(f"stored values must be strings, not {type(value).__name__}")
    if len(value) > MAX_VALUE_LENGTH:
        raise ConsentError(f"stored values are {MAX_VALUE_LENGTH} characters at most")
    return value
