"""The framework-free heart shared by the ASGI and WSGI middleware.

The adapters translate a request into a header scan; this class turns that into a
:class:`PersonalisationContext`, keeps the visitor's stores, and says what an app's response
must carry. The requests the middleware serves itself are answered by :class:`Endpoints`.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from ..core.codec import ConsentCookieCodec, ConsentState
from ..core.context import PersonalisationContext
from ..core.cookies import cookie_names, cookie_values, delete_cookie, is_cookie_name, set_cookie
from ..core.csrf import CsrfGuard
from ..core.exceptions import ConfigurationError
from ..core.gpc import gpc_enabled
from ..core.inventory import Scope
from ..core.modes import mode_for
from ..core.policy import MAX_CONSENT_LIFETIME, ConsentPolicy
from ..core.reasons import refusal
from ..core.signing import check_secret_keys
from ..core.stores import (
    DEFAULT_VISIT_LIFETIME,
    MAX_VISIT_LIFETIME,
    PreferenceBackend,
    SignalStore,
    StoreCodec,
    StoredData,
    pack,
)
from ..ledger.decisions import DecisionWatch
from ..ledger.events import ConsentEvent, Method, event_kind
from ..ledger.recorder import Recorder
from ..ledger.sql import Ledger
from ..ledger.url import open_ledger
from .messages import NO_CHANGES, VARY_ONLY, RequestInfo, ResponseChanges

__all__ = ["ConsentEngine"]

logger = logging.getLogger("consent_middleware")

_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*")
_PREFIX = re.compile(r"(/[A-Za-z0-9._~!$&'()*+,;=:@%-]+)+\Z")
# GPC withdrawals already recorded (consent id, decision time), so that a replayed cookie
# cannot flood the ledger; the event id is derived from the same pair across processes.
_GPC_MEMORY = 10_000
_GPC_EVENTS = uuid.UUID("6f1d2c3e-4b5a-4c7d-9e8f-0a1b2c3d4e5f")


class ConsentEngine:
    """Reads consent, serves the endpoints and writes consent cookies.

    All configuration is checked here, once; a mistake raises :class:`ConfigurationError`.
    """

    def __init__(
        self,
        *,
        policy: ConsentPolicy | None = None,
        secret_keys: Sequence[str | bytes],
        secure: bool = True,
        prefix: str = "/consent",
        cookie_name: str = "consent",
        cookie_domains: Iterable[str] = (),
        trusted_origins: Iterable[str] = (),
        gpc_json: bool = True,
        preference_backend: PreferenceBackend | None = None,
        ledger: str | Ledger | None = None,
        spool: str | None = None,
        language: str = "en",
        data_exporters: Mapping[str, Callable[[PersonalisationContext], object]] | None = None,
        data_erasers: Mapping[str, Callable[[PersonalisationContext], str]] | None = None,
        pseudonymise_on_erase: bool = False,
        enforce_withdrawal: bool = False,
        visit_lifetime: timedelta | float = DEFAULT_VISIT_LIFETIME,
    ) -> None:
        if policy is None:
            policy = ConsentPolicy.default()
        if not isinstance(policy, ConsentPolicy):
            raise ConfigurationError(
                "policy must be a ConsentPolicy, e.g. ConsentPolicy.default() or "
                "ConsentPolicy.from_toml('policy.toml')"
            )
        if not isinstance(secure, bool):
            raise ConfigurationError("secure must be True or False")
        if not isinstance(prefix, str) or not _PREFIX.match(prefix):
            raise ConfigurationError(
                f"prefix {prefix!r} is invalid: use a path such as '/consent' "
                "(leading '/', no trailing '/', no query)"
            )
        if not is_cookie_name(cookie_name):
            raise ConfigurationError(f"cookie_name {cookie_name!r} is not a valid cookie name")
        if cookie_name.lower().startswith(("__host-", "__secure-")):
            raise ConfigurationError(
                "cookie_name must not carry a __Host- or __Secure- prefix: it is added "
                "when secure=True"
            )
        keys = check_secret_keys(secret_keys)
        self.policy = policy
        self.secure = secure
        #: Adapters pass each request's scheme to :meth:`check_scheme` while this is true.
        self.watch_scheme = not secure
        self._scheme_lock = threading.Lock()
        self.prefix = prefix
        self.gpc_json = bool(gpc_json)
        self.cookie_domains = tuple(
            _check_domain(d) for d in _strings("cookie_domains", cookie_domains)
        )
        self.trusted_origins = frozenset(
            _check_origin(o) for o in _strings("trusted_origins", trusted_origins)
        )
        # __Host- keeps the cookie to this host: no subdomain can set or shadow it.
        host_prefix = "__Host-" if secure else ""
        self.cookie_name = host_prefix + cookie_name
        self._cookie_key = self.cookie_name + "="
        self.csrf_cookie_name = f"{host_prefix}{cookie_name}_csrf"
        self.visit_cookie_name = f"{host_prefix}{cookie_name}_visit"
        self.preferences_cookie_name = f"{host_prefix}{cookie_name}_prefs"
        for purpose in policy.purposes:
            for name in (
                self.cookie_name,
                self.csrf_cookie_name,
                self.visit_cookie_name,
                self.preferences_cookie_name,
            ):
                if purpose.owns_cookie(name) and not purpose.required:
                    raise ConfigurationError(
                        f"purpose {purpose.id!r} claims cookie {name!r}, which keeps the "
                        "consent itself: remove it from that purpose's cookies"
                    )
        self.codec = ConsentCookieCodec(policy, keys)
        self.csrf = CsrfGuard(keys, self.csrf_cookie_name)
        if preference_backend is not None and not all(
            callable(getattr(preference_backend, m, None)) for m in ("load", "save", "delete")
        ):
            raise ConfigurationError(
                "preference_backend needs load(), save() and delete() methods "
                "(see consent_middleware.core.stores.PreferenceBackend)"
            )
        self.preference_backend = preference_backend
        if not isinstance(language, str) or not _LANGUAGE.fullmatch(language):
            raise ConfigurationError(f"language {language!r} is not a language tag such as 'en'")
        self.language = language
        self.data_exporters = _callables("data_exporters", data_exporters)
        self.data_erasers = _callables("data_erasers", data_erasers)
        self.pseudonymise_on_erase = bool(pseudonymise_on_erase)
        if enforce_withdrawal and ledger is None:
            raise ConfigurationError(
                "enforce_withdrawal=True needs a ledger to know each browser's latest "
                "choice: pass ledger='sqlite:///consent.db' (or postgresql://...)"
            )
        self._lifetime = int(policy.consent_lifetime.total_seconds())
        self.decisions = DecisionWatch(self._lifetime) if enforce_withdrawal else None
        self.recorder = self._open_ledger(ledger, spool, self.decisions)
        self._gpc_recorded: OrderedDict[tuple[str, int], None] = OrderedDict()
        self._gpc_lock = threading.Lock()
        self.visit_lifetime = _check_visit_lifetime(visit_lifetime)
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
        target: str | Ledger | None, spool: str | None, decisions: DecisionWatch | None
    ) -> Recorder | None:
        if target is None:
            if spool is not None:
                raise ConfigurationError("spool= needs a ledger: pass ledger='sqlite:///...'")
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
        return Recorder(ledger, spool, decisions=decisions)

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

    def read(self, request: RequestInfo) -> PersonalisationContext:
        """The context for a request, from its ``Cookie`` and ``Sec-GPC`` headers.

        Never raises: anything wrong with the cookie, or with reading it, gives a context
        with no decision (mode ``non_personalised``).
        """
        gpc = False
        cookie_header = request.cookie_header
        root_path = request.root_path
        consent_path = root_path + self.prefix if root_path else self.prefix
        try:
            if request.gpc_values:
                gpc = gpc_enabled(request.gpc_values)
            state = None
            if cookie_header:
                result = self.codec.read(cookie_header, self._cookie_key, time.time())
                if isinstance(result, ConsentState):
                    if self.decisions is None or not self._withdrawn(result):
                        state = result
                    else:
                        logger.debug("consent cookie refused: a later choice replaced it")
                elif result is not None:
                    logger.debug("consent cookie refused: %s", result.value)
            # Positional arguments: this runs for every request.
            return PersonalisationContext(
                self.policy, state, gpc, self, cookie_header, consent_path, None, request.target
            )
        except Exception:
            logger.exception("consent could not be read; treating the request as undecided")
            return PersonalisationContext(
                self.policy, None, gpc, self, "", consent_path, None, request.target
            )

    def _withdrawn(self, state: ConsentState) -> bool:
        decisions = self.decisions
        return decisions is not None and decisions.stale(
            state.consent_id, state.decided_at, state.granted
        )

    def open_store(self, ctx: PersonalisationContext, scope: Scope) -> SignalStore:
        """The visit or preference data of this request's visitor, as stored now."""
        now = int(time.time())
        consent_id = None if ctx.state is None else ctx.state.consent_id
        data, stale = self._load(scope, ctx.sent_cookies, consent_id, now)
        return SignalStore(ctx, scope, data, now, stale=stale)

    def _load(
        self,
        scope: Scope,
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
        if scope is Scope.PERSISTENT and self.preference_backend is not None:
            try:
                raw = self.preference_backend.load(consent_id)
            except Exception:
                logger.exception("preferences could not be loaded; using none")
                return {}, False
            return codec.unpack(raw, now)
        name = self.visit_cookie_name if scope is Scope.SESSION else self.preferences_cookie_name
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

    def response_headers(self, ctx: PersonalisationContext) -> ResponseChanges:
        """What an app's response must carry for this context.

        Nothing unless ``ctx.varies`` or ``ctx.must_write``: adapters test those first.
        """
        if not (ctx.must_write or ctx.personal):
            return VARY_ONLY if ctx.varies else NO_CHANGES
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
            consent_id = None if ctx.state is None else ctx.state.consent_id
            for store in ctx.open_stores():
                if store.dirty:
                    cookies.extend(self.write_store(store.scope, store.entries(), consent_id))
        return ResponseChanges(
            cookies=tuple(cookies),
            private=bool(cookies) or ctx.personal,
            vary_cookie=ctx.varies,
        )

    def may_block(self, ctx: PersonalisationContext) -> bool:
        """Whether :meth:`response_headers` may wait on a store (a ledger write, the
        preference backend): the ASGI adapter then calls it from a worker thread."""
        if ctx.gpc_withdrawal is not None:
            return self.recorder is not None or self.preference_backend is not None
        return self.preference_backend is not None and any(
            store.scope is Scope.PERSISTENT and store.dirty for store in ctx.open_stores()
        )

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


def _same_filesystem(spool: str, ledger_path: str) -> bool:
    try:
        existing = Path(spool).resolve()
        while not existing.exists():
            existing = existing.parent
        ledger_dir = Path(ledger_path).resolve().parent
        return os.stat(existing).st_dev == os.stat(ledger_dir).st_dev
    except OSError:
        return False


def _check_visit_lifetime(value: timedelta | float) -> timedelta:
    if isinstance(value, bool) or not isinstance(value, timedelta | int | float):
        raise ConfigurationError(
            "visit_lifetime must be a timedelta or a number of seconds, "
            "e.g. visit_lifetime=timedelta(hours=4)"
        )
    seconds = value.total_seconds() if isinstance(value, timedelta) else value
    # A minute at least, so that a visit is usable; a day at most: data kept longer than a
    # visit is a profile across visits, which needs persistent signals and personalisation.
    if not 60 <= seconds <= MAX_VISIT_LIFETIME.total_seconds():
        raise ConfigurationError(
            f"visit_lifetime is {value!r}: give between one minute and one day, "
            "e.g. visit_lifetime=timedelta(hours=4)"
        )
    return timedelta(seconds=seconds)


def _strings(name: str, values: Iterable[str]) -> list[str]:
    if isinstance(values, str):
        raise ConfigurationError(f"{name} must be a list of strings, not one string")
    items = list(values)
    if not all(isinstance(v, str) and v for v in items):
        raise ConfigurationError(f"{name} must hold non-empty strings")
    return items


def _callables(
    name: str, functions: Mapping[str, Callable[[PersonalisationContext], Any]] | None
) -> dict[str, Callable[[PersonalisationContext], Any]]:
    if functions is None:
        return {}
    if not isinstance(functions, Mapping) or not all(
        isinstance(k, str) and callable(f) for k, f in functions.items()
    ):
        raise ConfigurationError(f"{name} must map names to functions of the request's context")
    return dict(functions)


def _check_domain(domain: str) -> str:
    if not re.fullmatch(r"\.?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*", domain):
        raise ConfigurationError(
            f"cookie_domains entry {domain!r} is not a domain such as '.example.com'"
        )
    return domain


def _check_origin(origin: str) -> str:
    origin = origin.strip().lower().rstrip("/")
    if not re.fullmatch(r"https?://[a-z0-9.-]+(:\d+)?", origin):
        raise ConfigurationError(
            f"trusted_origins entry {origin!r} is not an origin such as 'https://shop.example'"
        )
    return origin
