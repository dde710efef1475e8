"""The framework-free heart shared by the ASGI and WSGI middleware.

The adapters translate a request into a header scan; this class turns that into a
:class:`PersonalisationContext`, opens the visitor's stores, and says what an app's response
must carry. It composes the pieces that do the rest: the cookies to set or delete
(:class:`CookiePlan`), saving the stores (:class:`StoreWriter`) and the consent events
(:class:`ConsentRecords`). The requests the middleware serves itself are answered by
:class:`Endpoints`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Unpack, cast

from ..core.codec import ConsentCookieCodec, ConsentState, CookieProblem, Found
from ..core.context import PersonalisationContext, decided_context
from ..core.cookie_gate import CookieGate, Verdict, set_cookie_name
from ..core.cookies import cookie_values
from ..core.csrf import CsrfGuard
from ..core.external import ExternalDecision, ExternalReader
from ..core.gpc import gpc_enabled
from ..core.inventory import SignalScope
from ..core.modes import Mode, mode_for
from ..core.policy import ConsentPolicy
from ..core.redirects import RequestTarget
from ..core.stops import StopCodec
from ..core.stores import SignalStore, StoredData
from .cookie_plan import CookieNames, CookiePlan
from .messages import NO_CHANGES, VARY_ONLY, RequestInfo, ResponseChanges
from .options import ConsentOptions, ConsentSettings, options_from
from .records import ConsentRecords
from .regions import RegionReader
from .store_writer import StoreWriter

if TYPE_CHECKING:
    from ..ledger.recorder import Recorder

__all__ = ["ConsentEngine"]

logger = logging.getLogger("consent_middleware")

# Undeclared cookie names warned about, at most, in one process.
_WARNED_NAMES = 1000
# Cookie headers up to this length are remembered, the last so many.
_REMEMBERED_HEADER = 2048
_REMEMBERED_HEADERS = 1024
_NONE: frozenset[str] = frozenset()

#: What a returning visitor's ``Cookie`` header (as bytes) gives: the verified decision, the
#: span of Unix times in which it holds, the header as text, and the mode (``None`` when a
#: pause cookie is also sent, which the context then reads).
Remembered = tuple[ConsentState, float, float, str, Mode | None]


class ConsentEngine:
    """Reads consent and says what an app's response must carry.

    Takes checked :class:`ConsentOptions` (or the same names as keywords).
    """

    def __init__(
        self, options: ConsentOptions | None = None, /, **settings: Unpack[ConsentSettings]
    ) -> None:
        options = options_from(options, settings)
        self.options = options
        # ConsentOptions has put in the default policy and made the lifetime a timedelta.
        policy = cast(ConsentPolicy, options.policy)
        self.visit_lifetime = cast(timedelta, options.visit_lifetime)
        keys = list(options.keys)
        self.policy = policy
        self.secure = options.secure
        #: Adapters pass each request's scheme to :meth:`check_scheme` while this is true.
        self.watch_scheme = not options.secure
        self._scheme_lock = threading.Lock()
        self.prefix = options.prefix
        self.gpc_json = options.gpc_json
        self.trusted_origins = frozenset(options.trusted_origins)
        #: The shop's languages, the first the fallback (see ``PersonalisationContext.language``).
        self.languages = cast(tuple[str, ...], options.languages)
        self.codec = ConsentCookieCodec(policy, keys)
        names = CookieNames.of(options.cookie_name, secure=options.secure)
        #: The ``Set-Cookie`` lines of decisions, forms, stores, withdrawals and erasures.
        self.cookies = CookiePlan(
            policy, self.codec, names, secure=options.secure, domains=options.cookie_domains
        )
        self.cookie_name = names.consent
        self._cookie_key = self.cookie_name + "="
        # What the consent cookie of each recent Cookie header holds, and when: a browser
        # sends the same header again and again, and then costs one lookup and a time check.
        self._known = lru_cache(maxsize=_REMEMBERED_HEADERS)(self._learn)
        #: What :meth:`remember` said of the raw headers seen last (the ASGI adapter's).
        self.remembered: dict[bytes, Remembered | None] = {}
        self.visit_cookie_name = names.visit
        self.preferences_cookie_name = names.preferences
        self.csrf = CsrfGuard(keys, names.csrf)
        self.preference_backend = options.preference_backend
        #: Saves the visitor stores; reading them is :meth:`open_store`.
        self.stores = StoreWriter(
            policy,
            keys,
            self.cookies,
            visit_lifetime=self.visit_lifetime,
            backend=options.preference_backend,
        )
        self._store_codecs = self.stores.codecs
        #: The signals each shopper switched off, in a sealed cookie of their own.
        self.stops = StopCodec(policy, keys)
        self.signals_cookie_name = names.signals
        self.pause_cookie_name = names.pause
        #: Screens the app's ``Set-Cookie`` lines; ``None`` with ``enforce_cookies=False``.
        self.gate = (
            CookieGate(policy, names, options.undeclared_cookies)
            if options.enforce_cookies
            else None
        )
        self._warned: set[str] = set()
        self._warned_lock = threading.Lock()
        #: Builds the consent events and keeps them in the ledger.
        self.records = ConsentRecords.open(options, policy)
        self.decisions = self.records.decisions
        #: Whether a valid cookie alone decides (no ledger watch that may have replaced it).
        self.cookie_decides = self.decisions is None
        #: Other consent managers' cookies, asked when a visitor has no valid one of ours.
        self.external = ExternalReader(policy, options.external) if options.external else None
        #: Each request's region, when the shop names it (``region=``, ``region_header=``).
        self.regions = RegionReader.of(options)

    @property
    def recorder(self) -> Recorder | None:
        """This process's recorder, ``None`` without a ledger."""
        return self.records.recorder

    def close(self) -> None:
        """Stop the ledger's threads after a last flush and close the ledger. Safe to call
        twice, or if no request came. Requests are still answered afterwards: a grant as
        not saved (``503``, as when the ledger is down); a withdrawal takes effect in the
        browser and is written to the log."""
        self.records.close()

    def reopen(self) -> None:
        """Keep choices again after :meth:`close` (a server's next lifespan)."""
        self.records.reopen()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called (and not followed by :meth:`reopen`)."""
        return self.records.closed

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

    def read(self, request: RequestInfo) -> PersonalisationContext:
        """The context for a request, from its ``Cookie`` and ``Sec-GPC`` headers.

        Never raises: anything wrong with the cookie, or with reading it, gives a context
        with no decision (mode ``non_personalised``). The context has the request's region
        when the shop names it.
        """
        ctx = self.context(
            request.cookie_header, request.gpc_values, request.root_path, request.target
        )
        if self.regions is not None:
            self.regions.locate(ctx, request)
        return ctx

    def context(
        self,
        cookie_header: str,
        gpc_values: Sequence[str],
        root_path: str,
        target: RequestTarget,
        accept_language: str | list[tuple[bytes, bytes]] | None = None,
    ) -> PersonalisationContext:
        """:meth:`read` from the parts of a request record: the ``Cookie`` header, the
        ``Sec-GPC`` values, the mount point, the path and query, and the ``Accept-Language``
        header (or an ASGI header list to find it in)."""
        if cookie_header and not (gpc_values or root_path or self.decisions is not None):
            # A returning visitor with a valid cookie, the usual request: one lookup and a
            # time check. Anything else, and any doubt, takes the general way below.
            try:
                if len(cookie_header) <= _REMEMBERED_HEADER:
                    found, valid_from, valid_until = self._known(cookie_header)
                    if type(found) is ConsentState and valid_from <= time.time() <= valid_until:
                        return decided_context(
                            (found, valid_from, valid_until, cookie_header, None),
                            self,
                            target,
                            accept_language,
                        )
            except Exception:
                pass
        ctx = self._context(cookie_header, gpc_values, root_path, target)
        if accept_language is not None:
            ctx.accept_language(accept_language)
        return ctx

    def _context(
        self,
        cookie_header: str,
        gpc_values: Sequence[str],
        root_path: str,
        target: RequestTarget,
    ) -> PersonalisationContext:
        gpc = False
        state = None
        external: ExternalDecision | None = None
        consent_path = root_path + self.prefix if root_path else self.prefix
        try:
            if gpc_values:
                gpc = gpc_enabled(gpc_values)
            if cookie_header:
                if len(cookie_header) <= _REMEMBERED_HEADER:
                    found, valid_from, valid_until = self._known(cookie_header)
                else:
                    found, valid_from, valid_until = self._learn(cookie_header)
                if type(found) is ConsentState and valid_from <= time.time() <= valid_until:
                    if self.decisions is None or not self._withdrawn(found):
                        state = found
                    else:
                        logger.debug("consent cookie refused: a later choice replaced it")
                elif found is not None:
                    problem = found if type(found) is CookieProblem else CookieProblem.EXPIRED
                    logger.debug("consent cookie refused: %s", problem.value)
            if state is None and self.external is not None and cookie_header:
                external = self.external.read(cookie_header)
            return PersonalisationContext(
                self.policy, state, gpc, self, cookie_header, consent_path, None, target, external
            )
        except Exception:
            logger.exception("consent could not be read; treating the request as undecided")
            return PersonalisationContext(
                self.policy, None, gpc, self, "", consent_path, None, target
            )

    def _learn(self, cookie_header: str) -> Found:
        return self.codec.header_entry(cookie_header, self._cookie_key)

    def remember(self, raw: bytes) -> Remembered | None:
        """What a ``Cookie`` header sent as bytes decides, when a valid cookie of ours is in
        it (``None`` otherwise), kept in :attr:`remembered` for the headers seen last: the
        ASGI adapter looks there first, so that a returning visitor costs one lookup and a
        time check. Only for an engine whose cookie alone decides (:attr:`cookie_decides`).
        """
        header = raw.decode("latin-1")
        found, valid_from, valid_until = self._learn(header)
        answer: Remembered | None = None
        if type(found) is ConsentState:
            mode = None if self.pause_cookie_name in header else mode_for(found.granted)
            answer = (found, valid_from, valid_until, header, mode)
        if len(raw) <= _REMEMBERED_HEADER:
            remembered = self.remembered
            if len(remembered) >= _REMEMBERED_HEADERS:
                # The oldest goes: a dict keeps its keys in the order they came.
                remembered.pop(next(iter(remembered)), None)
            remembered[raw] = answer
        return answer

    def _withdrawn(self, state: ConsentState) -> bool:
        decisions = self.decisions
        return decisions is not None and decisions.stale(
            state.consent_id, state.decided_at, state.granted
        )

    def open_store(self, ctx: PersonalisationContext, scope: SignalScope) -> SignalStore:
        """The visit or preference data of this request's visitor, as stored now."""
        now = int(time.time())
        data, stale = self._load(scope, ctx.sent_cookies, _store_owner(ctx, scope), now)
        return SignalStore(ctx, scope, data, now, stale=stale)

    def stopped_signals(self, ctx: PersonalisationContext) -> frozenset[str]:
        """The signals the browser of ``ctx`` switched off, from its cookie (none when the
        cookie is missing, sent twice, invalid or bound to another consent)."""
        state = ctx.state
        if state is None or self.signals_cookie_name not in ctx.cookie_header:
            return _NONE
        values = ctx.sent_cookies(self.signals_cookie_name)
        if len(values) != 1:
            return _NONE
        return self.stops.decode(values[0], state.consent_id)

    def paused(self, ctx: PersonalisationContext) -> bool:
        """Whether the browser of ``ctx`` paused personalisation for this visit."""
        if self.pause_cookie_name not in ctx.cookie_header:
            return False
        return ctx.sent_cookies(self.pause_cookie_name) == ["1"]

    def count(self, name: str, mode: Mode) -> None:
        """Count one ``name`` outcome today under ``mode`` (``ctx.count``); never blocks."""
        self.records.count("outcome", name, mode.value)

    def stops_cookie(self, stopped: frozenset[str], consent_id: str) -> str:
        """The ``Set-Cookie`` line keeping ``stopped`` for ``consent_id`` (a deletion when
        nothing is stopped)."""
        return self.cookies.signals_cookie(self.stops.encode(stopped, consent_id))

    def _load(
        self,
        scope: SignalScope,
        cookies: str | Callable[[str], list[str]],
        consent_id: str | None,
        now: int,
    ) -> tuple[StoredData, bool]:
        """The data stored for ``consent_id`` still kept at ``now``, and whether what is
        stored held more (expired, invalid or foreign values) and should be rewritten.

        ``cookies`` is the ``Cookie`` header, or a function giving a cookie's values.
        """
        # Without a consent nothing can be read; a renewed consent keeps its id and its data.
        if consent_id is None:
            return {}, False
        codec = self._store_codecs[scope]
        if scope is SignalScope.PERSISTENT and self.preference_backend is not None:
            try:
                raw = self.preference_backend.load(consent_id)
            except Exception:
                logger.exception("preferences could not be loaded; using none")
                return {}, False
            return codec.unpack(raw, now)
        name = (
            self.visit_cookie_name if scope is SignalScope.SESSION else self.preferences_cookie_name
        )
        values = cookie_values(cookies, name + "=") if isinstance(cookies, str) else cookies(name)
        if not values:
            return {}, False
        if len(values) > 1:
            return {}, True
        data, stale = codec.decode(values[0], consent_id, now)
        if stale:
            logger.debug("%s store cookie: values dropped (expired, invalid or foreign)", scope)
        return data, stale

    # -- writing ---------------------------------------------------------------------------

    def screen_cookies(self, ctx: PersonalisationContext, lines: Sequence[str]) -> list[bool]:
        """Whether each of the app's ``Set-Cookie`` lines may leave (see :class:`CookieGate`).

        A line kept or dropped by the visitor's choice makes the response vary with the
        ``Cookie`` header; one kept because its purpose is granted also makes it private.
        Only call with :attr:`gate` set.
        """
        gate = cast(CookieGate, self.gate)
        granted = ctx.cookie_grants
        now = time.time()
        keep = []
        for line in lines:
            try:
                verdict = gate.verdict(line, granted, now)
            except Exception as e:
                # Never a failed response because of consent: what cannot be read stays in.
                logger.warning(
                    "a Set-Cookie line of the app could not be read (%s): it was removed",
                    type(e).__name__,
                )
                verdict = Verdict.BLOCKED
            if verdict is Verdict.GRANTED:
                ctx.varies = ctx.personal = True
            elif verdict is Verdict.REFUSED:
                ctx.varies = True
                logger.debug("cookie %r removed: its purpose is not granted", set_cookie_name(line))
            elif verdict is Verdict.BLOCKED:
                logger.debug("cookie %r removed: no purpose declares it", set_cookie_name(line))
            elif verdict is Verdict.UNDECLARED:
                self._warn_undeclared(set_cookie_name(line))
            keep.append(verdict is not Verdict.REFUSED and verdict is not Verdict.BLOCKED)
        return keep

    def _warn_undeclared(self, name: str) -> None:
        """One warning per cookie name and process (the first 1,000 names)."""
        with self._warned_lock:
            if name in self._warned or len(self._warned) > _WARNED_NAMES:
                return
            self._warned.add(name)
            if len(self._warned) > _WARNED_NAMES:
                logger.warning(
                    "the app sets more than %d cookies that no purpose declares; the "
                    "others are not named",
                    _WARNED_NAMES,
                )
                return
        if not name:
            logger.warning(
                "the app sets a cookie without a name, which no purpose can declare: set "
                "undeclared_cookies='block' to drop such cookies, or 'allow'"
            )
            return
        purposes = ", ".join(p.id for p in self.policy.purposes)
        logger.warning(
            "the app sets cookie %r, which no purpose of the policy declares: add it to the "
            "cookies of the purpose it serves (%s), or set undeclared_cookies='allow' "
            "(or 'block' to drop such cookies)",
            name,
            purposes,
        )

    def response_headers(self, ctx: PersonalisationContext) -> ResponseChanges:
        """What an app's response must carry for this context.

        Nothing unless ``ctx.varies`` or ``ctx.must_write``: adapters test those first.
        """
        regions = self.regions
        if not (ctx.must_write or ctx.personal):
            if not ctx.varies:
                return NO_CHANGES
            if regions is not None and ctx.varies_with_region:
                return regions.changes
            return VARY_ONLY
        cookies = []
        if ctx.new_csrf_nonce and ctx.csrf_nonce is not None:
            cookies.append(self.csrf_cookie(ctx.csrf_nonce))
        withdrawn = ctx.gpc_withdrawal
        if withdrawn is not None:
            # GPC overrides an earlier opt-in, and a later request without it is not an
            # opt-in again: the withdrawal is written into the cookie.
            cookies.extend(self.decision_cookies(withdrawn, ctx.cookie_header))
            self._record_gpc(ctx, withdrawn)
        else:
            for store in ctx.open_stores():
                if store.dirty:
                    owner = _store_owner(ctx, store.scope)
                    cookies.extend(self.write_store(store.scope, store.entries(), owner))
        by_region = regions.changes if regions is not None and ctx.varies_with_region else None
        return ResponseChanges(
            cookies=tuple(cookies),
            private=bool(cookies) or ctx.personal or (by_region is not None and by_region.private),
            vary_cookie=ctx.varies,
            vary=() if by_region is None else by_region.vary,
        )

    def may_block(self, ctx: PersonalisationContext) -> bool:
        """Whether :meth:`response_headers` may wait on a store (a ledger write, the
        preference backend): the ASGI adapter then calls it from a worker thread."""
        if ctx.gpc_withdrawal is not None:
            return self.recorder is not None or self.preference_backend is not None
        return self.preference_backend is not None and any(
            store.scope is SignalScope.PERSISTENT and store.dirty for store in ctx.open_stores()
        )

    def _record_gpc(self, ctx: PersonalisationContext, withdrawn: ConsentState) -> None:
        self.records.record_gpc(ctx, withdrawn)

    def write_store(
        self, scope: SignalScope, data: StoredData, consent_id: str | None
    ) -> list[str]:
        """``Set-Cookie`` lines (or a backend write) that store ``data`` for a visitor."""
        return self.stores.save(scope, data, consent_id)

    def csrf_cookie(self, nonce: str) -> str:
        """The cookie that keeps this browser's form nonce."""
        return self.cookies.csrf_cookie(nonce)

    def decision_cookies(self, state: ConsentState, cookie_header: str) -> list[str]:
        """``Set-Cookie`` lines for a new decision: the consent cookie, deletions of the
        cookies of purposes no longer granted, and the stores rewritten without the signals
        the decision no longer allows."""
        now = int(time.time())

        def stored(scope: SignalScope) -> tuple[StoredData, bool]:
            return self._load(scope, cookie_header, state.consent_id, now)

        return [
            self.cookies.consent_cookie(state),
            *self.cookies.purpose_cookie_deletions(cookie_header, state.granted),
            *self.stores.prune(state, stored),
        ]


def _store_owner(ctx: PersonalisationContext, scope: SignalScope) -> str | None:
    """Whom a store's data is bound to: the consent id of our own cookie. Under another
    consent manager's decision there is none: this visit's store, which carries no
    identifier and ends with the visit, is bound to that source; preferences, kept across
    visits, need a consent id of ours and are not kept."""
    if ctx.state is not None:
        return ctx.state.consent_id
    if ctx.external is not None and scope is SignalScope.SESSION:
        # Not a valid consent id (they never hold ":"), so never the same binding.
        return "external:" + ctx.external.source
    return None
