"""The spool in front of the ledger: nothing lost, nothing slowed.

A choice is appended to a local journal file (one JSON line, one ``write`` call, no wait
for the database) and a background thread copies the journal into the ledger. When the
ledger cannot be reached the journal is flushed to disk and kept; the thread retries until
the ledger is back. Writes are idempotent by event id, so a replay never duplicates. The
journal is locked with ``flock``, so several worker processes can share one file.
"""

from __future__ import annotations

import atexit
import fcntl
import json
import logging
import os
import threading
import weakref
from collections.abc import Sequence
from pathlib import Path

from .events import ConsentEvent
from .exceptions import ConfigurationError
from .ledger import Ledger

__all__ = ["Journal", "LedgerWriter"]

logger = logging.getLogger("consent_middleware")

#: Events written to the ledger in one transaction.
BATCH = 1000


class Journal:
    """An append-only file of events waiting for the ledger."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        except OSError as e:
            raise ConfigurationError(f"spool file {str(self.path)!r} cannot be opened: {e}") from e
        self._lock = threading.Lock()

    def append(self, events: Sequence[ConsentEvent]) -> None:
        """Add events; one ``write`` call, so a line is never interleaved with another."""
        data = "".join(event.to_json() + "\n" for event in events).encode()
        with self._lock:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                os.write(self._fd, data)
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)

    def read(self) -> tuple[list[ConsentEvent], int]:
        """Every complete event in the journal, and the size read."""
        with self._lock:
            fcntl.flock(self._fd, fcntl.LOCK_SH)
            try:
                data = os.pread(self._fd, os.fstat(self._fd).st_size, 0)
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        events = []
        for line in data.splitlines():
            try:
                events.append(ConsentEvent.from_mapping(json.loads(line)))
            except (ValueError, KeyError, TypeError):
                logger.error("spool %s holds an unreadable line; it is kept", self.path)
        return events, len(data)

    def sync(self) -> None:
        """Make the journal durable on disk (while the ledger is away)."""
        os.fsync(self._fd)

    def drop(self, size: int) -> None:
        """Forget the first ``size`` bytes, now safe in the ledger; later lines stay."""
        with self._lock:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                rest = os.pread(self._fd, os.fstat(self._fd).st_size, size)
                os.ftruncate(self._fd, 0)
                if rest:
                    os.write(self._fd, rest)
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        os.close(self._fd)


class LedgerWriter:
    """Copies the journal into the ledger from a background thread."""

    def __init__(self, ledger: Ledger, journal: Journal, *, retry_seconds: float = 1.0) -> None:
        self.ledger = ledger
        self.journal = journal
        self.retry_seconds = retry_seconds
        self.available = True
        self._wake = threading.Event()
        self._stop = False
        self._flush_lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="consent-ledger", daemon=True)
        self._wake.set()  # a spool left by an earlier run is written first
        self._thread.start()
        # Events still in the journal at exit are written, or stay in the spool for later.
        atexit.register(_close_at_exit, weakref.ref(self))

    def record(self, event: ConsentEvent) -> None:
        """Keep an event: in the journal now, in the ledger soon."""
        self.journal.append([event])
        self._wake.set()

    def flush(self) -> bool:
        """Copy the journal into the ledger now; ``False`` if the ledger is away."""
        with self._flush_lock:
            events, size = self.journal.read()
            if not events:
                return True
            try:
                for start in range(0, len(events), BATCH):
                    self.ledger.write(events[start : start + BATCH])
            except Exception as error:
                if self.available:
                    logger.warning(
                        "consent ledger unreachable (%s); choices are kept in %s until it is back",
                        error,
                        self.journal.path,
                    )
                self.available = False
                self.journal.sync()
                return False
            if not self.available:
                logger.warning("consent ledger is back; spooled choices written")
            self.available = True
            self.journal.drop(size)
            return True

    def _run(self) -> None:
        while not self._stop:
            self._wake.wait(None if self.available else self.retry_seconds)
            self._wake.clear()
            if not self._stop:
                self.flush()

    def close(self, timeout: float = 5.0) -> None:
        """Stop the thread after a last flush."""
        if self._stop:
            return
        self._stop = True
        self._wake.set()
        self._thread.join(timeout)
        self.flush()


def _close_at_exit(ref: weakref.ref[LedgerWriter]) -> None:
    writer = ref()
    if writer is not None:
        writer.close()
