"""The latest recorded decision of each browser, for refusing replayed cookies.

A signed cookie stays valid until it expires, so a browser (or anyone who copied the cookie)
could send an older "accept all" cookie after the shopper chose "reject all". With
``enforce_withdrawal=True`` the middleware refuses a cookie when the ledger holds a later
decision of the same consent id, made in a later second, that grants something else.
Requests never wait on the ledger: the decisions are read into memory in the background
(every ``poll_seconds``), and this process's own decisions are known at once. Only browsers
that decided more than once are remembered; a first decision cannot make an earlier cookie
stale.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable

from .events import ConsentEvent, Kind
from .forks import renew_after_fork
from .sql import Ledger

__all__ = ["DecisionWatch"]

logger = logging.getLogger("consent_middleware")


class DecisionWatch:
    """The latest decision per consent id, refreshed from the ledger."""

    def __init__(self, lifetime_seconds: float, *, poll_seconds: float = 2.0) -> None:
        self.lifetime_seconds = lifetime_seconds
        self.poll_seconds = poll_seconds
        self._latest: dict[str, tuple[float, frozenset[str]]] = {}
        self._lock = threading.Lock()
        self._since: float | None = None
        self._next_poll = 0.0
        renew_after_fork(self)

    def _after_fork(self) -> None:
        self._lock = threading.Lock()

    def add(self, events: Iterable[ConsentEvent]) -> None:
        """Take recorded events into account."""
        with self._lock:
            for event in events:
                if event.kind == Kind.GIVEN or event.signal:
                    continue  # a signal-level choice decides no purpose
                known = self._latest.get(event.consent_id)
                if known is None or known[0] <= event.time:
                    self._latest[event.consent_id] = (event.time, frozenset(event.granted))

    def refresh(self, ledger: Ledger, *, now: bool = False) -> None:
        """Read the decisions recorded since the last refresh (by every process), at most
        every ``poll_seconds`` unless ``now``."""
        if time.time() < self._next_poll and not now:
            return
        started = time.time()
        self._next_poll = started + self.poll_seconds
        # A little overlap: events committed by others just before our last read.
        since = started - self.lifetime_seconds if self._since is None else self._since - 30
        # A ledger of ours tells what it received lately, even events dated long ago;
        # another only what happened lately.
        changes = getattr(ledger, "changes_since", None)
        try:
            events = list(changes(since) if changes is not None else ledger.events(since))
        except Exception as error:
            logger.debug("latest consent decisions could not be read: %s", error)
            return
        self._since = started
        self.add(events)
        with self._lock:
            horizon = started - self.lifetime_seconds
            for consent_id in [k for k, (t, _) in self._latest.items() if t < horizon]:
                del self._latest[consent_id]

    def stale(self, consent_id: str, decided_at: int, granted: frozenset[str]) -> bool:
        """Whether a cookie of ``consent_id`` decided at ``decided_at`` granting ``granted``
        was replaced by a later recorded decision that grants something else."""
        known = self._latest.get(consent_id)
        # A cookie keeps its decision time in whole seconds: only a choice recorded in a
        # later second is known to be later (two choices within one second both pass).
        return known is not None and known[0] >= decided_at + 1 and known[1] != granted
