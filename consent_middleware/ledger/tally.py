"""Counts without identifiers: shoppers' feedback and the shop's outcomes, per day and mode.

A count is a number under a key of a day (UTC, never a finer time), a kind (``feedback`` or
``outcome``), a name, a personalisation mode and, for feedback, the reason's kind and the
signal: no consent id, no address, nothing that tells one shopper from another. Counting
costs a request a dictionary update; every few seconds a thread adds what this process
counted to the ledger's totals, which every process and server share. When the ledger cannot
take them, counts wait in memory and are tried again; beyond ``max_keys`` waiting keys, new
ones are dropped (and logged once), and counts not yet written when a process is killed are
lost. A count never fails a page.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
import weakref
from collections import Counter
from collections.abc import Sequence
from typing import Protocol

from .forks import renew_after_fork

__all__ = ["CountKey", "CountStore", "Tally", "today"]

logger = logging.getLogger("consent_middleware")

#: (day ``YYYY-MM-DD``, kind, name, mode, reason kind, signal id).
CountKey = tuple[str, str, str, str, str, str]


class CountStore(Protocol):
    """Where counts are added up: a ledger of ours (``SQLLedger``) is one."""

    def add_counts(self, counts: Sequence[tuple[CountKey, int]]) -> None: ...


def today(now: float | None = None) -> str:
    """The UTC day of ``now`` (default: the present), as ``YYYY-MM-DD``."""
    return time.strftime("%Y-%m-%d", time.gmtime(now))


class Tally:
    """This process's counts on their way to the ledger."""

    def __init__(
        self, store: CountStore, *, flush_seconds: float = 5.0, max_keys: int = 10_000
    ) -> None:
        self.store = store
        self.flush_seconds = flush_seconds
        self.max_keys = max_keys
        self._after_fork()
        renew_after_fork(self)
        atexit.register(_close_at_exit, weakref.ref(self))

    def _after_fork(self) -> None:
        self._lock = threading.Lock()
        # A forked child starts with nothing: its parent writes what it counted.
        self._pending: Counter[CountKey] = Counter()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._warned = False
        self._flushing = threading.Lock()

    def add(self, kind: str, name: str, mode: str, reason: str = "", signal: str = "") -> None:
        """Count one, today. Never raises."""
        try:
            key = (today(), kind, name, mode, reason, signal)
            with self._lock:
                if key in self._pending or len(self._pending) < self.max_keys:
                    self._pending[key] += 1
                    started = self._thread is not None or self._stopping
                else:
                    started = True
                    self._dropped()
            if not started:
                self._start()
        except Exception:
            logger.exception("a count could not be kept; it was dropped")

    def _dropped(self) -> None:
        if not self._warned:
            self._warned = True
            logger.warning(
                "counts are waiting for the ledger under more than %d keys: new ones are "
                "dropped until it takes them",
                self.max_keys,
            )

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None or self._stopping:
                return
            thread = threading.Thread(target=self._run, name="consent-counts", daemon=True)
            self._thread = thread
        try:
            thread.start()
        except RuntimeError:
            logger.exception("the counting thread could not be started")

    def pending(self) -> dict[CountKey, int]:
        """What this process counted and has not written yet."""
        with self._lock:
            return dict(self._pending)

    def flush(self) -> bool:
        """Add what waits to the ledger's totals; ``False`` (and kept) if it could not."""
        with self._flushing:
            with self._lock:
                waiting, self._pending = self._pending, Counter()
            if not waiting:
                return True
            try:
                self.store.add_counts(sorted(waiting.items()))
            except Exception as error:
                logger.debug("counts could not be written yet: %s", error)
                with self._lock:
                    for key, number in waiting.items():
                        if key in self._pending or len(self._pending) < self.max_keys:
                            self._pending[key] += number
                        else:
                            self._dropped()
                return False
            with self._lock:
                self._warned = False
            return True

    def _run(self) -> None:
        while not self._stopping:
            self._wake.wait(self.flush_seconds)
            self._wake.clear()
            try:
                self.flush()
            except Exception:
                logger.exception("counts could not be written; trying again")

    def close(self, timeout: float = 5.0) -> None:
        """Stop the thread and write what waits, once. Counts added afterwards wait for
        :meth:`reopen` (or are written by a later :meth:`flush`)."""
        with self._lock:
            self._stopping = True
            thread, self._thread = self._thread, None
        self._wake.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        if not self.flush():
            lost = sum(self.pending().values())
            logger.warning("%d count(s) could not be written before shutdown", lost)

    def reopen(self) -> None:
        """Count again after :meth:`close` (a server's next lifespan)."""
        with self._lock:
            self._stopping = False
            waiting = bool(self._pending)
        if waiting:
            self._start()


def _close_at_exit(ref: weakref.ref[Tally]) -> None:
    tally = ref()
    if tally is not None:
        tally.close()
