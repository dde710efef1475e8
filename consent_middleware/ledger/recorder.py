"""From "the shopper chose" to "the choice is proved": the path every consent event takes.

A choice is written to the ledger at once and acknowledged only once committed. Choices
made at the same moment by other shoppers are committed together (a group commit: one
transaction and one disk sync for all of them), so durability per choice does not cost a
disk sync per choice. When the ledger cannot take them, they are appended and ``fsync``-ed
to this process's journal instead (see :mod:`.journal`) and acknowledged then; a background
thread writes the journal into the ledger when it is back, and claims the journals that
ended processes left behind. If neither can keep a choice, :meth:`Recorder.keep` says so,
and the caller decides (a grant is not acknowledged).

Everything that needs a thread or a file is made lazily in the process that uses it, so the
recorder works alike under ``gunicorn --preload`` (built before the fork) and in workers
that each import the app.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import threading
import weakref
from collections.abc import Sequence
from pathlib import Path

from ..core.exceptions import ConfigurationError
from .decisions import DecisionWatch
from .events import ConsentEvent
from .forks import renew_after_fork
from .journal import Journal, claim_orphans
from .sql import Ledger

__all__ = ["Recorder"]

logger = logging.getLogger("consent_middleware")

#: Events written to the ledger in one transaction.
BATCH = 1000
#: Events kept in memory, to retry, when neither the ledger nor the journal can take them.
MAX_UNSAVED = 10_000
#: The longest a choice waits for its commit before it is answered as not saved.
KEEP_TIMEOUT = 60.0


class Recorder:
    """Keeps consent events durable: in the ledger, or in this process's journal until the
    ledger is back."""

    def __init__(
        self,
        ledger: Ledger,
        spool: str | Path,
        *,
        retry_seconds: float = 1.0,
        claim_seconds: float = 30.0,
        decisions: DecisionWatch | None = None,
    ) -> None:
        self.ledger = ledger
        self.spool = Path(spool)
        self.retry_seconds = retry_seconds
        self.claim_seconds = claim_seconds
        #: The latest decisions per consent id, when withdrawal is enforced.
        self.decisions = decisions
        try:
            self.spool.mkdir(mode=0o700, parents=True, exist_ok=True)
            if not os.access(self.spool, os.W_OK | os.X_OK):
                raise PermissionError(f"no permission to write in {str(self.spool)!r}")
        except OSError as e:
            raise ConfigurationError(
                f"spool directory {str(self.spool)!r} cannot be used ({e}): pass "
                "spool='/a/writable/local/directory'"
            ) from e
        self.available = True
        self._after_fork()
        renew_after_fork(self)
        atexit.register(_close_at_exit, weakref.ref(self))

    def _after_fork(self) -> None:
        self._lock = threading.Lock()
        self._journal: Journal | None = None
        self._unsaved: list[ConsentEvent] = []
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = False
        self._stopping = False
        # One flush at a time: the background thread, a download and close() all flush.
        self._flushing = threading.Lock()
        # Events waiting for the committer thread, each with its caller's answer.
        self._queue: list[_Pending] = []
        self._queued = threading.Condition(threading.Lock())
        self._committer: threading.Thread | None = None

    # -- keeping events ---------------------------------------------------------------------

    def keep(self, event: ConsentEvent) -> bool:
        """Make ``event`` durable; ``False`` if neither the ledger nor the journal took it.

        Waits for a commit or an ``fsync``: call it from a worker thread, not an event loop.
        """
        pending = _Pending(event)
        started = self.start()
        with self._queued:
            queued = started and self._committer is not None
            if queued:
                self._queue.append(pending)
                self._queued.notify()
        if not queued:
            return self._commit([event])  # no thread to hand it to (closed)
        # Every wait below is bounded already; this bound only guards against the unknown.
        return pending.done.wait(KEEP_TIMEOUT) and pending.durable

    def _commit_queued(self) -> None:
        while True:
            with self._queued:
                while not self._queue and not self._stopping:
                    self._queued.wait()
                batch, self._queue = self._queue[:BATCH], self._queue[BATCH:]
                if not batch:
                    self._committer = None
                    return
            try:
                durable = self._commit([p.event for p in batch])
            except Exception:
                logger.exception("consent events could not be committed")
                durable = False
            for pending in batch:
                pending.durable = durable
                pending.done.set()

    def _commit(self, events: list[ConsentEvent]) -> bool:
        if self.available:
            try:
                self.ledger.write(events)
            except Exception as error:
                self._lost_ledger(error)
            else:
                self._seen(events)
                return True
        try:
            self._own_journal().append(events)
        except OSError as error:
            logger.error(
                "%d consent event(s) could not be made durable: the ledger is unreachable "
                "and the spool in %s cannot be written (%s)",
                len(events),
                self.spool,
                error,
            )
            return False
        self._seen(events)
        self._wake.set()
        return True

    def keep_later(self, event: ConsentEvent) -> None:
        """Keep ``event`` now if possible, else hold it in memory and retry: for a
        withdrawal, which takes effect whether or not it could be recorded yet."""
        if self.keep(event):
            return
        with self._lock:
            if len(self._unsaved) < MAX_UNSAVED:
                self._unsaved.append(event)
        self._wake.set()

    def pending(self) -> list[ConsentEvent]:
        """Events of this process not in the ledger yet."""
        with self._lock:
            journal, unsaved = self._journal, list(self._unsaved)
        return (journal.read()[0] if journal is not None else []) + unsaved

    def _own_journal(self) -> Journal:
        with self._lock:
            if self._journal is None:
                self._journal = Journal(self.spool)
            return self._journal

    def _seen(self, events: Sequence[ConsentEvent]) -> None:
        if self.decisions is not None:
            self.decisions.add(events)

    def _lost_ledger(self, error: Exception) -> None:
        if self.available:
            logger.warning(
                "consent ledger unreachable (%s); choices are kept in %s until it is back",
                error,
                self.spool,
            )
        self.available = False
        self._wake.set()

    # -- the background thread --------------------------------------------------------------

    def start(self) -> bool:
        """Start this process's threads, if not yet: the committer, and the one that
        retries the ledger and claims the journals of ended processes. Called on first use
        in each process, never at construction, so that a server forking its workers from
        a preloaded app forks no thread and no lock held by one. ``False`` if closed or if
        no thread could be started."""
        if self._started:
            return True
        with self._lock:
            if self._started:
                return True
            if self._stopping:
                return False
            committer = threading.Thread(
                target=self._commit_queued, name="consent-ledger-commit", daemon=True
            )
            background = threading.Thread(target=self._run, name="consent-ledger", daemon=True)
            try:
                committer.start()
            except RuntimeError:
                logger.exception("consent ledger thread could not be started")
                return False
            self._committer = committer
            self._started = True
            try:
                background.start()
            except RuntimeError:
                logger.exception("consent ledger thread could not be started")
            else:
                self._thread = background
            return True

    def flush(self) -> bool:
        """Write what waits in this process into the ledger; ``False`` if the ledger is
        away."""
        with self._flushing:
            return self._flush()

    def _flush(self) -> bool:
        written = False
        with self._lock:
            unsaved, self._unsaved = self._unsaved, []
        try:
            if unsaved:
                try:
                    self._own_journal().append(unsaved)
                except OSError:
                    self._write(unsaved)  # no journal: straight to the ledger, or back
                    self._seen(unsaved)
                    written = True
                else:
                    self._seen(unsaved)
                unsaved = []
            journal = self._journal
            if journal is not None:
                events, mark = journal.read()
                if events:
                    self._write(events)
                    journal.drop(mark)
                    written = True
            if not (written or self.available):
                self.ledger.history("")  # nothing to write: is the store back?
        except Exception as error:
            with self._lock:
                self._unsaved[:0] = unsaved[: MAX_UNSAVED - len(self._unsaved)]
            self._lost_ledger(error)
            return False
        if not self.available:
            logger.warning("consent ledger is back; choices are written to it again")
        self.available = True
        return True

    def _write(self, events: list[ConsentEvent]) -> None:
        for start in range(0, len(events), BATCH):
            self.ledger.write(events[start : start + BATCH])

    def claim(self) -> int:
        """Write the journals that ended processes left in the spool; events written."""
        own = self._journal.path if self._journal is not None else None
        try:
            return claim_orphans(self.spool, self._write, own=own)
        except Exception as error:
            self._lost_ledger(error)
            return 0

    def _run(self) -> None:
        claim_every = max(1, round(self.claim_seconds / self.retry_seconds))
        rounds = 0
        while True:
            try:
                self._round(rounds % claim_every == 0)
            except Exception:
                logger.exception("consent ledger background work failed; retrying")
            rounds += 1
            if self._stopping:
                return
            self._wake.wait(self.retry_seconds)
            self._wake.clear()

    def _round(self, claim: bool) -> None:
        if claim:
            self.claim()
        journal = self._journal
        if journal is not None:
            journal.check()  # a deleted journal is carried over now, not at the next choice
        if self.decisions is not None:
            self.decisions.refresh(self.ledger)
        waiting = self._unsaved or (journal is not None and not journal.empty)
        if waiting or not self.available:
            self.flush()

    def close(self, timeout: float = 5.0) -> None:
        """Stop the thread after a last flush; an empty journal is deleted, one that still
        holds events is left for the next process to claim."""
        with self._lock:
            if self._stopping:
                return
            self._stopping = True
            threads = [self._thread, self._committer]
        with self._queued:
            self._queued.notify()
        self._wake.set()
        for thread in threads:
            if thread is not None and thread is not threading.current_thread():
                thread.join(timeout)
        self.flush()
        for event in self._unsaved:
            # The last place left to prove a withdrawal: the log, for the operator.
            logger.error("consent event not recorded before shutdown: %s", event.to_json())
        if self._journal is not None:
            with contextlib.suppress(OSError):
                self._journal.close()


class _Pending:
    """One caller's event on its way to the committer, and the answer it waits for."""

    __slots__ = ("done", "durable", "event")

    def __init__(self, event: ConsentEvent) -> None:
        self.event = event
        self.done = threading.Event()
        self.durable = False


def _close_at_exit(ref: weakref.ref[Recorder]) -> None:
    recorder = ref()
    if recorder is not None:
        recorder.close()
