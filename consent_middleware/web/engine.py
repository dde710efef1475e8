"""The framework-free heart shared by the ASGI and WSGI middleware.

The adapters translate a request into a header scan; this class turns that into a
:class:`PersonalisationContext`, keeps the visitor's stores, and says what an app's response
must carry. The requests the middleware serves itself are answered by :class:`Endpoints`.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections import OrderedDict
from datetime import timedelta
from os import PathLike
from pathlib import Path
from typing import Unpack, cast

from ..core.codec import ConsentCookieCodec, ConsentState, CookieProblem
from ..core.context import PersonalisationContext
from ..core.cookies import cookie_names, cookie_values, delete_cookie, set_cookie
from ..core.csrf import CsrfGuard
from ..core.gpc import gpc_enabled
from ..core.inventory import Scope
from ..core.modes import mode_for
from ..core.policy import MAX_CONSENT_LIFETIME, ConsentPolicy
from ..core.reasons import refusal
from ..core.stores import SignalStore, StoreCodec, StoredData, pack
from ..ledger.decisions import DecisionWatch
from ..ledger.events import ConsentEvent, Method, event_kind
from ..ledger.recorder import Recorder
from ..ledger.sql import Ledger
from ..ledger.url import open_ledger
from .cookie_plan import CookieNames
from .messages import NO_CHANGES, VARY_ONLY, ResponseChanges
from .options import ConsentOptions, ConsentSettings, options_from

__all__ = ["ConsentEngine"]

logger = logging.getLogger("consent_middleware")

# GPC withdrawals already recorded (consent id, decision time), so that a replayed cookie
# cannot flood the ledger; the event id is derived from the same pair across processes.
_GPC_MEMORY = 10_000
_GPC_EVENTS = uuid.UUID("6f1d2c3e-4b5a-4c7d-9e8f-0a1b2c3d4e5f")


class ConsentEngine:
    """Reads consent, serves the endpoints and writes consent cookies.

    Takes checked :class:`ConsentOptions` (or the same names as keywords).
    """

    def __init__(
        self, options: ConsentOptions | None = None, /, **settings: Unpack[ConsentSettings]
    ) -> None:
        options = options_from(options, settings)
        self.options = options
        # ConsentOptions has put in the default policy and made the lifetime a timedelta.
        policy = cast(ConsentPolicy, options.policy)
        keys = list(options.keys)
        self.policy = policy
        self.secure = options.secure
        #: Adapters pass each request's scheme to :meth:`check_scheme` while this is true.
        self.watch_scheme = not options.secure
        self._scheme_lock = threading.Lock()
        self.prefix = options.prefix
        self.gpc_json = options.gpc_json
        self.cookie_domains = tuple(options.cookie_domains)
        self.trusted_origins = frozenset(options.trusted_origins)
        names = CookieNames.of(options.cookie_name, secure=options.secure)
        self.cookie_name = names.consent
        self._cookie_key = self.cookie_name + "="
        self.csrf_cookie_name = names.csrf
        self.visit_cookie_name = names.visit
        self.preferences_cookie_name = names.preferences
        self.codec = ConsentCookieCodec(policy, keys)
        self.csrf = CsrfGuard(keys, self.csrf_cookie_name)
        self.preference_backend = options.preference_backend
        self.language = options.language
        self.data_exporters = options.data_exporters or {}
        self.data_erasers = options.data_erasers or {}
        self.pseudonymise_on_erase = options.pseudonymise_on_erase
        self._lifetime = int(policy.consent_lifetime.total_seconds())
        self.decisions = DecisionWatch(self._lifetime) if options.enforce_withdrawal else None
        self.recorder = self._open_ledger(options.ledger, options.spool, self.decisions)
        self._gpc_recorded: OrderedDict[tuple[str, int], None] = OrderedDict()
        self._gpc_lock = threading.Lock()
        self.visit_lifetime = cast(timedelta, options.visit_lifetime)
        self._store_codecs = {
            Scope.SESSION: StoreCodec(policy, keys, Scope.SESSION, lifetime=self.visit_lifetime),
            Scope.PERSISTENT: StoreCodec(policy, keys, Scope.PERSISTENT),
        }
        # Preferences last as long as the longest retention declared (395 days at most).
        retentions = [s.retention for s in policy.signals if s.retention is not None]
        longest = max(retentions, default=policy.consent_lifetime)
        self._preferences_max_age = int(min(longest, MAX_CONSENT_LIFETIME).total_seconds())

    @staticmethod
    def _open_ledger(
        target: str | Ledger | None,
        spool: str | PathLike[str] | None,
        decisions: DecisionWatch | None,
    ) -> Recorder | None:
        if target is None:
            logger.warning(
                "consent choices are not being recorded: pass ledger='sqlite:///consent.db' "
                "(or postgresql://...) to keep proof of consent"
            )
            return None
        ledger = open_ledger(target)
        path = getattr(ledger, "path", None)
        if spool is None:
            spool = f"{path}-spool" if isinstance(path, str) else "consent-ledger-spool"
        elif isinstance(path, str) and _same_filesystem(spool, path):
            logger.warning(
                "spool %r is on the same filesystem as the SQLite ledger %r: a full or "
                "read-only disk stops both, and grants are then refused; put the spool on "
                "another local filesystem",
                spool,
                path,
            )
        return Recorder(ledger, Path(spool), decisions=decisions)

    def keep(self, event: ConsentEvent) -> bool:
        """Make a consent event durable; ``False`` if it could not be (the choice must then
        not be acknowledged). Without a ledger it is only logged. Blocks: worker thread."""
        if self.recorder is None:
            logger.info("consent %s (%s): %s", event.kind, event.method, ",".join(event.granted))
            return True
        return self.recorder.keep(event)

    def record(self, event: ConsentEvent) -> None:
        """Keep a withdrawal: durable now if possible, else retried in the background."""
        if self.recorder is None:
            self.keep(event)
        else:
            self.recorder.keep_later(event)

    def event(
        self,
        ctx: PersonalisationContext,
        state: ConsentState,
        method: str,
        *,
        renewed: bool = False,
        event_id: str | None = None,
    ) -> ConsentEvent:
        """The event that records ``state`` replacing the context's decision."""
        previous = None if ctx.state is None else ctx.state.granted
        return ConsentEvent.new(
            event_id=event_id,
            consent_id=state.consent_id,
            time=time.time(),
            policy_version=self.policy.version,
            granted=sorted(state.granted),
            refused=sorted(p.id for p in self.policy.optional if p.id not in state.granted),
            method=method,
            kind=event_kind(previous, state.granted, renewed=renewed),
            language=self.language,
        )

    def expired_consent_id(self, cookie_header: str) -> str | None:
        """The consent id of an expired or outdated cookie this server signed, if any."""
        values = cookie_values(cookie_header, self._cookie_key)
        return self.codec.signed_consent_id(values[0]) if len(values) == 1 else None

    def check_scheme(self, scheme: str | None, forwarded_proto: str | None) -> None:
        """Warn, once, that ``secure=False`` is serving a request that arrived over HTTPS
        (by its own scheme or a proxy's ``X-Forwarded-Proto``)."""
        proto = (forwarded_proto or "").partition(",")[0].strip().lower()
        if scheme != "https" and proto != "https":
            return
        with self._scheme_lock:
            if not self.watch_scheme:
                return
            self.watch_scheme = False
        logger.warning(
            "a request arrived over HTTPS while secure=False: remove secure=False so that the "
            "consent cookies are Secure and __Host- prefixed (it is for plain-HTTP local "
            "development only)"
        )

    # -- reading ---------------------------------------------------------------------------

    def read(
        self, cookie_header: str, gpc_values: list[str], root_path: str = "", path: str = "/"
    ) -> PersonalisationContext:
        """The context for a request with these ``Cookie`` and ``Sec-GPC`` headers.

        Never raises: anything wrong with the cookie, or with reading it, gives a context
        with no decision (mode ``non_personalised``).
        """
        gpc = False
        try:
            gpc = bool(gpc_values) and gpc_enabled(gpc_values)
            state = None
            values = cookie_values(cookie_header, self._cookie_key) if cookie_header else None
            if values:
                # Two different consent cookies (one shadowing the other) prove nothing.
                result = (
                    self.codec.decode(values[0], time.time())
                    if len(values) == 1 or len(set(values)) == 1
                    else CookieProblem.DUPLICATE
                )
                if isinstance(result, ConsentState) and not self._withdrawn(result):
                    state = result
                elif isinstance(result, ConsentState):
                    logger.debug("consent cookie refused: a later choice replaced it")
                else:
                    logger.debug("consent cookie refused: %s", result.value)
            return PersonalisationContext(
                self.policy,
                state,
                gpc,
                self,
                cookie_header,
                root_path + self.prefix if root_path else self.prefix,
                path,
            )
        except Exception:
            logger.exception("consent could not be read; treating the request as undecided")
            return PersonalisationContext(self.policy, None, gpc, self)

    def _withdrawn(self, state: ConsentState) -> bool:
        decisions = self.decisions
        return decisions is not None and decisions.stale(
            state.consent_id, state.decided_at, state.granted
        )

    def open_store(self, ctx: PersonalisationContext, scope: Scope) -> SignalStore:
        """The visit or preference data of this request's visitor, as stored now."""
        now = int(time.time())
        data, stale = self._load(scope, ctx._cookie_header, ctx.consent_id, now)
        return SignalStore(ctx, scope, data, now, stale=stale)

    def _load(
        self, scope: Scope, cookie_header: str, consent_id: str | None, now: int
    ) -> tuple[StoredData, bool]:
        """The data stored for ``consent_id`` still kept at ``now``, and whether what is
        stored held more (expired, invalid or foreign values) and should be rewritten."""
        # Without a consent nothing can be read; a renewed consent keeps its id and its data.
        if consent_id is None:
            return {}, False
        codec = self._store_codecs[scope]
        if scope is Scope.PERSISTENT and self.preference_backend is not None:
            try:
                raw = self.preference_backend.load(consent_id)
            except Exception:
                logger.exception("preferences could not be loaded; using none")
                return {}, False
            return codec.unpack(raw, now)
        name = self.visit_cookie_name if scope is Scope.SESSION else self.preferences_cookie_name
        values = cookie_values(cookie_header, name + "=")
        if not values:
            return {}, False
        if len(values) > 1:
            return {}, True
        data, stale = codec.decode(values[0], consent_id, now)
        if stale:
            logger.debug("%s store cookie: values dropped (expired, invalid or foreign)", scope)
        return data, stale

    # -- writing ---------------------------------------------------------------------------

    def response_headers(self, ctx: PersonalisationContext) -> ResponseChanges:
        """What an app's response must carry for this context.

        Nothing unless ``ctx.touched`` or ``ctx.gpc``: adapters test those first.
        """
        if not (
            ctx.gpc or ctx.new_csrf_nonce or ctx.personal or ctx.used_signals or ctx.open_stores()
        ):
            return VARY_ONLY if ctx.touched else NO_CHANGES
        cookies = []
        if ctx.new_csrf_nonce and ctx.csrf_nonce is not None:
            cookies.append(self.csrf_cookie(ctx.csrf_nonce))
        state = ctx.state
        if state is not None and ctx.gpc and not state.granted <= ctx._granted:
            # GPC overrides an earlier opt-in, and a later request without it is not an
            # opt-in again: the withdrawal is written into the cookie.
            withdrawn = ConsentState(state.consent_id, ctx._granted, state.decided_at)
            cookies.extend(self.decision_cookies(withdrawn, ctx._cookie_header))
            self._record_gpc(ctx, withdrawn)
        else:
            for store in ctx.open_stores():
                if store.dirty:
                    cookies.extend(self.write_store(store.scope, store.entries(), ctx.consent_id))
        return ResponseChanges(
            cookies=tuple(cookies),
            private=bool(cookies or ctx.personal or ctx.used_signals),
            vary_cookie=ctx.touched,
        )

    def may_block(self, ctx: PersonalisationContext) -> bool:
        """Whether :meth:`response_headers` may wait on a store (a ledger write, the
        preference backend): the ASGI adapter then calls it from a worker thread."""
        state = ctx.state
        if ctx.gpc and state is not None and not state.granted <= ctx._granted:
            return self.recorder is not None or self.preference_backend is not None
        preferences = ctx._preferences
        return self.preference_backend is not None and preferences is not None and preferences.dirty

    def _record_gpc(self, ctx: PersonalisationContext, withdrawn: ConsentState) -> None:
        """Record a GPC withdrawal once per consent id and decision, however often a stale
        cookie is replayed with GPC on."""
        key = (withdrawn.consent_id, withdrawn.decided_at)
        with self._gpc_lock:
            if key in self._gpc_recorded:
                return
            self._gpc_recorded[key] = None
            if len(self._gpc_recorded) > _GPC_MEMORY:
                self._gpc_recorded.popitem(last=False)
        event_id = uuid.uuid5(_GPC_EVENTS, f"{key[0]}.{key[1]}").hex
        self.record(self.event(ctx, withdrawn, Method.GPC, event_id=event_id))

    def write_store(self, scope: Scope, data: StoredData, consent_id: str | None) -> list[str]:
        """``Set-Cookie`` lines (or a backend write) that store ``data`` for a visitor.

        Stored data is bound to ``consent_id``; without one (no decision, so nothing could
        have been allowed) the store is deleted instead.
        """
        codec = self._store_codecs[scope]
        if scope is Scope.PERSISTENT and self.preference_backend is not None:
            if consent_id is not None:
                try:
                    if data:
                        self.preference_backend.save(consent_id, pack(data))
                    else:
                        self.preference_backend.delete(consent_id)
                except Exception:
                    logger.exception("preferences could not be saved")
            return []
        if scope is Scope.SESSION:
            name, max_age = self.visit_cookie_name, None
        else:
            name, max_age = self.preferences_cookie_name, self._preferences_max_age
        if not data or consent_id is None:
            return [delete_cookie(name, secure=self.secure)]
        value = codec.encode(data, consent_id)
        return [set_cookie(name, value, max_age=max_age, secure=self.secure)]

    def csrf_cookie(self, nonce: str) -> str:
        return set_cookie(self.csrf_cookie_name, nonce, max_age=None, secure=self.secure)

    def decision_cookies(self, state: ConsentState, cookie_header: str) -> list[str]:
        remaining = self._lifetime - max(0, int(time.time()) - state.decided_at)
        cookies = [
            set_cookie(
                self.cookie_name,
                self.codec.encode(state),
                max_age=max(remaining, 0),
                secure=self.secure,
            )
        ]
        cookies += self.purpose_cookie_deletions(cookie_header, state.granted)
        # Stored signals the new choice no longer allows are removed with it.
        mode = mode_for(state.granted)
        now = int(time.time())
        for scope in (Scope.SESSION, Scope.PERSISTENT):
            stored, stale = self._load(scope, cookie_header, state.consent_id, now)
            allowed = {
                key: entries
                for key, entries in stored.items()
                if refusal(self.policy.signal(key), state.granted, mode) is None
            }
            if allowed != stored or stale:
                cookies.extend(self.write_store(scope, allowed, state.consent_id))
        return cookies

    def purpose_cookie_deletions(self, cookie_header: str, granted: frozenset[str]) -> list[str]:
        """``Set-Cookie`` lines deleting the cookies sent that only ungranted purposes own,
        on this host and on every ``cookie_domains`` entry."""
        deletions = []
        for name in sorted(cookie_names(cookie_header)):
            if self.withdrawn_cookie(name, granted):
                deletions.append(delete_cookie(name, secure=self.secure))
                for domain in self.cookie_domains:
                    deletions.append(delete_cookie(name, secure=self.secure, domain=domain))
        return deletions

    def withdrawn_cookie(self, name: str, granted: frozenset[str]) -> bool:
        """Whether cookie ``name`` belongs only to purposes outside ``granted``."""
        owners = [p.id for p in self.policy.purposes if p.owns_cookie(name)]
        return bool(owners) and all(owner not in granted for owner in owners)


def _same_filesystem(spool: str | PathLike[str], ledger_path: str) -> bool:
    try:
        existing = Path(spool).resolve()
        while not existing.exists():
            existing = existing.parent
        ledger_dir = Path(ledger_path).resolve().parent
        return os.stat(existing).st_dev == os.stat(ledger_dir).st_dev
    except OSError:
        return False
