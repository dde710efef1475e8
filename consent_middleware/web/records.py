"""Where consent events go: the ledger (through this process's recorder) or, without one,
the log; and the events that a choice, a renewal or a GPC withdrawal make."""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections import OrderedDict
from os import PathLike
from pathlib import Path
from typing import cast

from ..core.codec import ConsentState
from ..core.context import PersonalisationContext
from ..core.policy import ConsentPolicy
from ..ledger.decisions import DecisionWatch
from ..ledger.events import ConsentEvent, Method, event_kind
from ..ledger.recorder import Recorder
from ..ledger.sql import LedgerUnavailable
from ..ledger.tally import CountStore, Tally
from ..ledger.url import open_ledger
from .options import ConsentOptions

__all__ = ["ConsentRecords"]

logger = logging.getLogger("consent_middleware")

# GPC withdrawals already recorded (consent id, decision time), so that a replayed cookie
# cannot flood the ledger; the event id is derived from the same pair across processes.
_GPC_MEMORY = 10_000
_GPC_EVENTS = uuid.UUID("6f1d2c3e-4b5a-4c7d-9e8f-0a1b2c3d4e5f")


class ConsentRecords:
    """Builds consent events and keeps them: durable in the ledger when there is one.

    After :meth:`close` (until :meth:`reopen`) a grant is answered as not saved, and a
    withdrawal still takes effect in the browser and is written to the log, for the
    operator.
    """

    def __init__(
        self,
        policy: ConsentPolicy,
        language: str,
        recorder: Recorder | None = None,
        *,
        decisions: DecisionWatch | None = None,
        owns_ledger: bool = False,
        tally: Tally | None = None,
    ) -> None:
        self.policy = policy
        self.language = language
        #: ``None`` without a ledger: choices are then only logged.
        self.recorder = recorder
        #: The latest decision per consent id, when withdrawal is enforced.
        self.decisions = decisions
        # A ledger opened from a URL is ours to close; the host's own object is not.
        self._owns_ledger = owns_ledger
        #: Feedback and outcomes on their way to the ledger; ``None`` when it keeps none.
        self.tally = tally
        self._closed = False
        self._close_lock = threading.Lock()
        self._gpc_recorded: OrderedDict[tuple[str, int], None] = OrderedDict()
        self._gpc_lock = threading.Lock()

    @classmethod
    def open(cls, options: ConsentOptions, policy: ConsentPolicy) -> ConsentRecords:
        """The records for ``options``: the ledger is opened (and checked) now, its threads
        start with this process's first consent request."""
        lifetime = int(policy.consent_lifetime.total_seconds())
        decisions = DecisionWatch(lifetime) if options.enforce_withdrawal else None
        # Events record the language shown; this one labels those made with no page shown
        # (a GPC withdrawal).
        language = cast(tuple[str, ...], options.languages)[0]
        if options.ledger is None:
            logger.warning(
                "consent choices are not being recorded: pass ledger='sqlite:///consent.db' "
                "(or postgresql://...) to keep proof of consent"
            )
            return cls(policy, language)
        ledger = open_ledger(options.ledger)
        path = getattr(ledger, "path", None)
        spool = options.spool
        if spool is None:
            spool = f"{path}-spool" if isinstance(path, str) else "consent-ledger-spool"
        elif isinstance(path, str) and _same_filesystem(spool, path):
            logger.warning(
                "spool %r is on the same filesystem as the SQLite ledger %r: a full or "
                "read-only disk stops both, and grants are then refused; put the spool on "
                "another local filesystem",
                str(spool),
                path,
            )
        recorder = Recorder(ledger, Path(spool), decisions=decisions)
        # A host's own ledger object may keep no counts.
        counts = callable(getattr(ledger, "add_counts", None))
        return cls(
            policy,
            language,
            recorder,
            decisions=decisions,
            owns_ledger=isinstance(options.ledger, str),
            tally=Tally(cast(CountStore, ledger)) if counts else None,
        )

    # -- events ----------------------------------------------------------------------------

    def event(
        self,
        ctx: PersonalisationContext,
        state: ConsentState,
        method: str,
        *,
        renewed: bool = False,
        event_id: str | None = None,
    ) -> ConsentEvent:
        """The event that records ``state`` replacing the context's decision, in the
        language the context's UI was shown in."""
        previous = None if ctx.state is None else ctx.state.granted
        region, rule_set = ctx.jurisdiction
        # The purposes the decision covers: not those still awaiting a choice.
        covered = [p for p in self.policy.optional if p.id not in state.pending]
        return ConsentEvent.new(
            event_id=event_id,
            consent_id=state.consent_id,
            time=time.time(),
            policy_version=self.policy.version,
            granted=sorted(state.granted),
            refused=sorted(p.id for p in covered if p.id not in state.granted),
            method=method,
            kind=event_kind(previous, state.granted, renewed=renewed),
            # The language the shopper was shown; none for a GPC withdrawal.
            language=self.language if method == Method.GPC else ctx.language,
            region=region,
            rule_set=rule_set.value,
            versions=[(p.id, p.version) for p in covered if p.version is not None],
        )

    def signal_event(
        self, ctx: PersonalisationContext, signal: str, kind: str, method: str
    ) -> ConsentEvent:
        """The event of a choice about one signal (``Kind.STOPPED``, ``FORGOTTEN`` or
        ``RESUMED``), under the decision in force; it never holds a value."""
        state = ctx.state
        assert state is not None, "signal-level choices need a decision of this shop"
        granted = ctx.cookie_grants  # as GPC leaves them
        return ConsentEvent.new(
            consent_id=state.consent_id,
            time=time.time(),
            policy_version=self.policy.version,
            granted=sorted(granted),
            refused=sorted(p.id for p in self.policy.optional if p.id not in granted),
            method=method,
            kind=kind,
            language=ctx.language,
            signal=signal,
        )

    def gpc_event(self, ctx: PersonalisationContext, withdrawn: ConsentState) -> ConsentEvent:
        """The event of a GPC withdrawal; its id is the same in every process."""
        key = f"{withdrawn.consent_id}.{withdrawn.decided_at}"
        event_id = uuid.uuid5(_GPC_EVENTS, key).hex
        return self.event(ctx, withdrawn, Method.GPC, event_id=event_id)

    # -- keeping ---------------------------------------------------------------------------

    def start(self) -> None:
        """Start this process's recorder threads, if not yet (on its first consent request)."""
        if self.recorder is not None and not self._closed:
            self.recorder.start()

    def keep(self, event: ConsentEvent) -> bool:
        """Make a consent event durable; ``False`` if it could not be (the choice must then
        not be acknowledged). Without a ledger it is only logged. Blocks: worker thread."""
        if self.recorder is None:
            logger.info("consent %s (%s): %s", event.kind, event.method, ",".join(event.granted))
            return True
        if self._closed:
            logger.warning("consent %s not saved: the consent middleware was closed", event.kind)
            return False
        return self.recorder.keep(event)

    def record(self, event: ConsentEvent) -> None:
        """Keep a withdrawal: durable now if possible, else retried in the background."""
        if self.recorder is None:
            self.keep(event)
        elif self._closed:
            # The last place left to prove a withdrawal: the log, for the operator.
            logger.error("consent event not recorded after shutdown: %s", event.to_json())
        else:
            self.recorder.keep_later(event)

    def record_gpc(self, ctx: PersonalisationContext, withdrawn: ConsentState) -> None:
        """Record a GPC withdrawal once per consent id and decision, however often a stale
        cookie is replayed with GPC on."""
        key = (withdrawn.consent_id, withdrawn.decided_at)
        with self._gpc_lock:
            if key in self._gpc_recorded:
                return
            self._gpc_recorded[key] = None
            if len(self._gpc_recorded) > _GPC_MEMORY:
                self._gpc_recorded.popitem(last=False)
        self.record(self.gpc_event(ctx, withdrawn))

    def count(self, kind: str, name: str, mode: str, reason: str = "", signal: str = "") -> None:
        """Count one under the day, ``kind`` (``feedback`` or ``outcome``), ``name`` and
        ``mode``; with no ledger that keeps counts, nothing. Never raises, never blocks."""
        if self.tally is not None:
            self.tally.add(kind, name, mode, reason, signal)

    # -- the shopper's history -------------------------------------------------------------

    def history(self, consent_id: str) -> tuple[list[ConsentEvent], bool]:
        """One browser's events, those waiting in this process included, and whether the
        ledger answered."""
        recorder = self.recorder
        if recorder is None:
            return [], True
        if self._closed:
            return [], False
        recorder.flush()
        try:
            stored, complete = recorder.ledger.history(consent_id), True
        except Exception:
            logger.exception("consent history could not be read")
            stored, complete = [], False
        # Events still waiting for the ledger belong to the history all the same.
        pending = [e for e in recorder.pending() if e.consent_id == consent_id]
        known = {e.event_id for e in stored}
        events = stored + [e for e in pending if e.event_id not in known]
        return sorted(events, key=lambda e: e.time), complete

    def erase(self, consent_id: str, *, pseudonymise: bool) -> int:
        """Erase one browser's events (or cut them loose from it); how many there were.
        Raises when the ledger cannot be reached, or is closed."""
        if self.recorder is None:
            return 0
        if self._closed:
            raise LedgerUnavailable("the consent middleware was closed")
        return self.recorder.ledger.erase(consent_id, pseudonymise=pseudonymise)

    # -- the end ---------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def close(self) -> None:
        """Stop the recorder's threads after a last flush, and close the ledger opened
        from a URL. Safe to call twice, or before any thread started."""
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        if self.tally is not None:
            self.tally.close()
        if self.recorder is None:
            return
        self.recorder.close()
        if self._owns_ledger:
            self.recorder.ledger.close()

    def reopen(self) -> None:
        """Keep events again after :meth:`close`, with a new recorder on the same ledger
        and spool (a server's next lifespan, as test clients run one per test)."""
        with self._close_lock:
            if not self._closed:
                return
            old = self.recorder
            if old is not None:
                self.recorder = Recorder(
                    old.ledger,
                    old.spool,
                    retry_seconds=old.retry_seconds,
                    claim_seconds=old.claim_seconds,
                    decisions=old.decisions,
                )
            if self.tally is not None:
                self.tally.reopen()
            self._closed = False


def _same_filesystem(spool: str | PathLike[str], ledger_path: str) -> bool:
    try:
        existing = Path(spool).resolve()
        while not existing.exists():
            existing = existing.parent
        ledger_dir = Path(ledger_path).resolve().parent
        return os.stat(existing).st_dev == os.stat(ledger_dir).st_dev
    except OSError:
        return False
