"""The per-request personalisation context and how to find it from any request object."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol, cast
from urllib.parse import urlencode

from .codec import ConsentState
from .cookies import find_all_cookies
from .exceptions import ConsentError, ConsentRequired, MiddlewareNotInstalled, SignalStopped
from .inventory import Purpose, Segment, Signal, SignalScope
from .languages import DEFAULT_LANGUAGES, header_value, negotiate
from .modes import _NON_PERSONALISED, Mode, mode_for
from .policy import MARKETING, ConsentPolicy
from .reasons import SEGMENT_REASON, SPONSORED_REASON, Reason, refusal, suggested_text
from .redirects import RequestTarget, request_location
from .regions import RuleSet

if TYPE_CHECKING:
    from .csrf import CsrfGuard
    from .external import ExternalDecision
    from .stores import SignalStore

__all__ = ["ENVIRON_KEY", "SCOPE_KEY", "Mode", "PersonalisationContext", "get_context"]

_NONE: frozenset[str] = frozenset()

#: Where the ASGI middleware puts the context: ``scope["consent"]``.
SCOPE_KEY = "consent"
#: Where the WSGI middleware puts the context: ``environ["consent_middleware.context"]``.
ENVIRON_KEY = "consent_middleware.context"


class ContextHost(Protocol):
    """What a context needs from the middleware that made it."""

    csrf: CsrfGuard
    #: The shop's languages, the first the fallback.
    languages: tuple[str, ...]

    def open_store(self, ctx: PersonalisationContext, scope: SignalScope) -> SignalStore: ...

    def stopped_signals(self, ctx: PersonalisationContext) -> frozenset[str]: ...

    def paused(self, ctx: PersonalisationContext) -> bool: ...

    def count(self, name: str, mode: Mode) -> None: ...


class DecidingHost(ContextHost, Protocol):
    """A host that makes contexts on its own quick way (:func:`decided_context`)."""

    policy: ConsentPolicy
    #: Where the consent endpoints are served, with no mount point.
    prefix: str


class PersonalisationContext:
    """What this request may use, from the visitor's consent and the request's GPC signal.

    Anything wrong with the consent cookie has already been turned into "no decision", so
    every attribute here is safe to act on. Reading the consent (``mode``, ``allows``, ...)
    makes the response vary with the ``Cookie`` header (:attr:`varies`); reading anything
    of this browser's own (a personal signal, a reason, a store, a form token, the consent
    id, the public state) also makes it ``Cache-Control: private`` (:attr:`personal`).
    """

    # The attributes every request sets are slots; the rest are read from the defaults
    # below until first set (then in the instance's dict), so that making a context sets
    # only what differs from one request to the next.
    __slots__ = (
        "__dict__",
        "_accept_language",
        "_cookie_header",
        "_granted",
        "_host",
        "_mode",
        "_target",
        "consent_path",
        "must_write",
        "personal",
        "policy",
        "state",
        "varies",
    )

    #: The browser sent Global Privacy Control on this request.
    gpc: bool = False
    #: Another consent manager's decision, followed when no cookie of ours decides.
    external: ExternalDecision | None = None
    #: The response must set the CSRF cookie (a token was made for a new nonce).
    new_csrf_nonce: bool = False
    # The Cookie header's cookies, the path and query, and what was found or made for this
    # request, each when first needed.
    _cookies: dict[str, list[str]] | None = None
    _path: str | None = None
    _csrf_nonce: str | None = None
    _csrf_token: str | None = None
    _change_url: str | None = None
    _used: dict[str, Signal] | None = None
    _visit: SignalStore | None = None
    _preferences: SignalStore | None = None
    # The signals switched off, read when first needed.
    _stopped: frozenset[str] | None = None

    def __init__(
        self,
        policy: ConsentPolicy,
        state: ConsentState | None = None,
        gpc: bool = False,
        host: ContextHost | None = None,
        cookie_header: str = "",
        consent_path: str = "/consent",
        path: str | None = None,
        target: RequestTarget | None = None,
        external: ExternalDecision | None = None,
    ) -> None:
        self.policy = policy
        #: The verified decision from the cookie, or ``None`` when there is none valid.
        self.state = state
        if gpc:
            self.gpc = True
        granted = policy.required_ids if state is None else state.granted
        if external is not None and state is None:  # our own cookie always wins
            granted = external.granted
            self.external = external
        #: The response must write something (a cookie, stored values), whether or not it
        #: read the consent: a new form token, changed stores, or a GPC withdrawal.
        self.must_write = False
        if gpc and not granted.isdisjoint(policy.gpc_opt_out_ids):
            granted = granted - policy.gpc_opt_out_ids
            # GPC overrides an earlier opt-in: the withdrawal is written into the cookie.
            self.must_write = state is not None
        self._granted = granted
        self._mode: Mode | None = None
        self._host = host
        self._cookie_header = cookie_header
        #: Where the consent endpoints are served for this request (mount point included).
        self.consent_path = consent_path
        if path is not None:
            self._path = path
        # What ``path`` is made of when first read. The request record itself is not kept:
        # it holds the ASGI scope, which holds this context, and a cycle waits for the
        # garbage collector.
        self._target = target
        #: The consent was read: the response varies with the ``Cookie`` header.
        self.varies = False
        #: A value of this browser's own was read: no shared cache may keep the response.
        self.personal = False
        self._accept_language = None

    # -- the decision ----------------------------------------------------------------------

    @property
    def mode(self) -> Mode:
        """How far this request may be personalised (``non_personalised`` while the shopper
        paused personalisation for this visit, see :attr:`paused`)."""
        self.varies = True
        mode = self._mode
        if mode is None:
            mode = mode_for(self._granted)
            if mode is not _NON_PERSONALISED and self._pause_asked():
                mode = _NON_PERSONALISED
            self._mode = mode
        return mode

    @property
    def paused(self) -> bool:
        """The shopper chose "see suggestions without personalisation" for this visit: the
        mode is ``non_personalised`` though the purposes stay granted (no new consent)."""
        self.varies = True
        return mode_for(self._granted) is not _NON_PERSONALISED and self._pause_asked()

    def _pause_asked(self) -> bool:
        host = self._host
        # The header is looked at first: nearly every request has no pause cookie. A host
        # made before the switch existed has no pause to read.
        name = getattr(host, "pause_cookie_name", None)
        return name is not None and name in self._cookie_header and bool(host.paused(self))  # type: ignore[union-attr]

    @property
    def granted(self) -> frozenset[str]:
        """The purposes this request may use (required ones included)."""
        self.varies = True
        return self._granted

    @property
    def decided(self) -> bool:
        """Whether the visitor has made a choice under the current policy version, here or
        in the consent manager of an external source (a purpose added or changed since may
        still await one: :attr:`pending`)."""
        self.varies = True
        return self.state is not None or self.external is not None

    @property
    def pending(self) -> dict[str, str]:
        """The purposes awaiting a choice from a visitor who chose before: ``"new"`` ones,
        added to the policy since, and ``"changed"`` ones, whose own ``version`` changed.
        In declared order; not granted until chosen (unless the region lets them start
        granted). Empty without a choice at all: then everything awaits one (``decided``)."""
        self.varies = True
        state = self.state
        if state is None or not state.pending:
            return {}
        return {
            p.id: "changed" if p.id in state.changed else "new"
            for p in self.policy.optional
            if p.id in state.pending
        }

    @property
    def source(self) -> str | None:
        """Where the grants come from: ``"cookie"`` (this shop's own consent cookie), an
        external source's name (``"onetrust"``, ``"cookiebot"``, ``"tcf"``) or ``None``
        (no decision)."""
        self.varies = True
        if self.state is not None:
            return "cookie"
        return None if self.external is None else self.external.source

    @property
    def consent_id(self) -> str | None:
        """The pseudonymous id of this browser's consent record, once it has decided."""
        self.varies = self.personal = True
        return None if self.state is None else self.state.consent_id

    def allows(self, purpose_id: str) -> bool:
        """Whether ``purpose_id`` may be used on this request.

        An id the policy does not declare is a programming error and raises
        :class:`ConsentError`, so a typo cannot silently switch a feature off (or on).
        """
        self.varies = True
        if purpose_id in self._granted:
            return True
        if purpose_id not in self.policy:
            declared = ", ".join(p.id for p in self.policy.purposes)
            raise ConsentError(f"unknown purpose {purpose_id!r}; the policy declares: {declared}")
        return False

    def public_state(self) -> dict[str, object]:
        """The state for client code: purposes, mode, GPC, dates, the region and its rule
        set, the purposes awaiting a choice; no secrets, no identifiers."""
        state = self.state
        # The decision's dates are this browser's own.
        self.varies = self.personal = True
        lifetime = int(self.policy.consent_lifetime.total_seconds())
        return {
            "policy_version": self.policy.version,
            "decided": self.decided,
            "mode": self.mode.value,
            "gpc": self.gpc,
            "source": self.source,
            "purposes": {p.id: p.id in self._granted for p in self.policy.purposes},
            "decided_at": None if state is None else _iso(state.decided_at),
            "expires_at": None if state is None else _iso(state.decided_at + lifetime),
            "region": self.region,
            "rule_set": self.rule_set.value,
            "pending": self.pending,
        }

    @property
    def path(self) -> str:
        """This request's path and query, where consent forms send the shopper back."""
        path = self._path
        if path is None:
            target = self._target
            path = self._path = "/" if target is None else request_location(target)
        return path

    @path.setter
    def path(self, value: str) -> None:
        self._path = value
        self._change_url = None

    def change_url(self, next_path: str | None = None) -> str:
        """The preference page, sending the shopper back to ``next_path`` (this page)."""
        if next_path is not None:
            return f"{self.consent_path}?{urlencode({'next': next_path})}"
        if self._change_url is None:
            self._change_url = f"{self.consent_path}?{urlencode({'next': self.path})}"
        return self._change_url

    # -- language --------------------------------------------------------------------------

    # Set only when the consent UI needs it: most requests render none of it.
    _language: str
    #: The header, or an ASGI scope's header list to find it in.
    _accept_language: str | list[tuple[bytes, bytes]] | None

    @property
    def language(self) -> str:
        """The language of the consent UI on this request, one of the shop's ``languages``.

        Fixed by the host (``ctx.language = "de"``), else chosen, when first read, from the
        request's ``Accept-Language`` (RFC 4647 lookup), else the shop's first language.
        """
        try:
            return self._language
        except AttributeError:
            pass
        header = self._accept_language
        if type(header) is list:
            header = header_value(header, b"accept-language")
        elif type(header) is not str:
            header = None
        language = self._language = negotiate(header, self.languages)
        return language

    @language.setter
    def language(self, value: str) -> None:
        offered = self.languages
        found = {tag.lower(): tag for tag in offered}.get(str(value).lower())
        if found is None:
            raise ConsentError(
                f"language {value!r} is not one the shop offers ({', '.join(offered)}): "
                "add it to languages=[...]"
            )
        self._language = found

    @property
    def languages(self) -> tuple[str, ...]:
        """The shop's languages (the ``languages`` option), the first the fallback."""
        host = self._host
        return DEFAULT_LANGUAGES if host is None else host.languages

    def accept_language(self, header: str | list[tuple[bytes, bytes]] | None) -> None:
        """Give the request's ``Accept-Language`` header (or an ASGI header list to find it
        in), read only when :attr:`language` is first needed. The adapters call this as
        they make the context; the template helpers may again. A language already chosen
        stays."""
        self._accept_language = header

    # -- region ----------------------------------------------------------------------------

    # Set by locate(), which the middleware calls only when the shop names the region (the
    # region= or region_header= option): without it every request is opt_in.
    _region: str | None = None
    _rule_set: RuleSet = RuleSet.OPT_IN
    #: The grants depend on the region: the response must vary with it once consent is read.
    _region_matters: bool = False
    _on_by_default: frozenset[str] = _NONE

    def locate(self, region: str | None) -> None:
        """Apply the rule set of the visitor's region. The middleware calls this as it makes
        the context, before anything reads it; ``region`` is an ISO 3166 code it checked
        (``"DE"``, ``"US-CA"``) or ``None`` when the region is unknown (then ``opt_in``).

        In ``opt_out`` and ``notice`` regions the purposes declared ``opt_out_allowed`` that
        the visitor has not chosen about are granted; in ``opt_out`` regions Global Privacy
        Control withdraws every ``opt_out_allowed`` purpose, an earlier opt-in too (written
        into the cookie, as for ``gpc_opt_out``).
        """
        policy = self.policy
        rule_set = policy.regions.rule_set(region)
        self._region = region
        self._rule_set = rule_set
        state = self.state
        if state is not None and not state.pending and not self.gpc:
            # The usual request, a returning visitor's: their choice decides, anywhere.
            self._region_matters = False
            self._on_by_default = _NONE
            return
        if state is not None:
            undecided = state.pending
        else:
            undecided = _NONE if self.external is not None else policy.optional_ids
        # Only purposes that may start granted make one region's answer differ from another's.
        self._region_matters = bool(policy.opt_out_allowed_ids) and (bool(undecided) or self.gpc)
        on = _NONE
        if rule_set is not RuleSet.OPT_IN:
            on = policy.opt_out_allowed_ids & undecided
        granted = self._granted
        if self.gpc:
            off = policy.gpc_off(rule_set)
            on -= off
            granted -= off
            if state is not None and not state.granted.isdisjoint(off):
                self.must_write = True
        self._on_by_default = on
        self._granted = granted | on
        self._mode = None

    @property
    def region(self) -> str | None:
        """The visitor's region, an ISO 3166 code (``"DE"``, ``"US-CA"``), or ``None`` when
        it is unknown or the shop does not name it. Reading it makes the response vary with
        the region."""
        self.varies = self._region_matters = True
        return self._region

    @property
    def rule_set(self) -> RuleSet:
        """The rule set of the visitor's region: ``opt_in`` (also when the region is
        unknown), ``opt_out`` or ``notice``. Reading it makes the response vary with the
        region."""
        self.varies = self._region_matters = True
        return self._rule_set

    @property
    def jurisdiction(self) -> tuple[str | None, RuleSet]:
        """The region and its rule set, as the ledger records them with a decision (reading
        them here does not make the response vary)."""
        return self._region, self._rule_set

    @property
    def on_by_default(self) -> frozenset[str]:
        """The purposes granted without a choice, because the region lets them start
        granted until the visitor opts out (``opt_out`` and ``notice`` rule sets)."""
        self.varies = True
        return self._on_by_default

    @property
    def gpc_opt_outs(self) -> frozenset[str]:
        """The purposes Global Privacy Control keeps off on this request, whatever was
        chosen: the ``gpc_opt_out`` ones, and in ``opt_out`` regions every
        ``opt_out_allowed`` one. Empty when the browser does not send GPC."""
        self.varies = True
        if not self.gpc:
            return _NONE
        return self.policy.gpc_off(self._rule_set)

    @property
    def varies_with_region(self) -> bool:
        """Whether the response depends on the visitor's region: it read the consent while
        the region's rules decided it (no choice yet, or GPC), or read the region itself.
        The middleware then adds the region header to ``Vary``."""
        return self.varies and self._region_matters

    # -- signals and reasons ---------------------------------------------------------------

    def _signal(self, signal_id: str) -> Signal:
        try:
            return self.policy.signal(signal_id)
        except KeyError:
            declared = ", ".join(s.id for s in self.policy.signals) or "none"
            raise ConsentError(
                f"unknown signal {signal_id!r}: declare it in the policy with Signal(...) "
                f"or [[signals]]; the policy declares: {declared}"
            ) from None

    def check(self, signal_id: str) -> Signal:
        """The signal, if this request may use it; :class:`ConsentRequired` if not
        (:class:`SignalStopped` for a signal the shopper switched off)."""
        signal = self._signal(signal_id)
        self.varies = True
        problem = self._refusal(signal)
        if problem is not None:
            raise problem
        return signal

    def may_use(self, signal_id: str) -> bool:
        """Whether the signal may be used on this request (raises only for unknown ids)."""
        signal = self._signal(signal_id)
        self.varies = True
        if refusal(signal, self._granted, self.mode) is not None:
            return False
        stopped = self._stopped
        if stopped is None:
            stopped = self._read_stops()
        return signal.id not in stopped

    def _refusal(self, signal: Signal) -> ConsentRequired | None:
        problem = refusal(signal, self._granted, self.mode)
        if problem is None and signal.id in self.stopped_signals:
            return SignalStopped(
                f'signal {signal.id!r} was switched off by this shopper ("Don\'t use this"); '
                "it is used again once they switch it on in the preference centre",
                purpose=signal.purpose,
                signal=signal.id,
            )
        return problem

    @property
    def stopped_signals(self) -> frozenset[str]:
        """The signals this shopper switched off ("Don't use this"): refused, whatever the
        purposes granted, until switched on again in the preference centre."""
        stopped = self._stopped
        return self._read_stops() if stopped is None else stopped

    def _read_stops(self) -> frozenset[str]:
        host = self._host
        # The header is looked at first: nearly every browser has switched nothing off. A
        # host made before signals could be switched off has nothing to read.
        name = getattr(host, "signals_cookie_name", None)
        if name is None or self.state is None or name not in self._cookie_header:
            stopped = _NONE
        else:
            stopped = host.stopped_signals(self)  # type: ignore[union-attr]
        self._stopped = stopped
        return stopped

    def use(self, signal_id: str) -> Signal:
        """Record that this response is built with the signal; refused like :meth:`check`."""
        signal = self.check(signal_id)
        # The response is built with this browser's own data.
        self.personal = True
        if self._used is None:
            self._used = {}
        self._used[signal.id] = signal
        return signal

    @property
    def used_signals(self) -> tuple[Signal, ...]:
        """The personal signals this response was built with, in the order first used."""
        return () if self._used is None else tuple(self._used.values())

    def may_read(self, signal_id: str) -> bool:
        """Whether the app may read the signal's values on this request: :meth:`may_use`,
        and its purpose gives values (``granularity = "signal"``). Under ``"segment"`` the
        app reads :meth:`segments` instead."""
        return self.may_use(signal_id) and self.policy.gives_values(signal_id)

    def segments(self) -> tuple[Segment, ...]:
        """The policy's segments this shopper is in, from the signals this request may use
        (the response is then built with them). The values themselves stay inside."""
        held: dict[str, list[str]] = {}
        found = []
        for segment in self.policy.segments:
            for signal_id in segment.signals:
                if signal_id not in held and self.may_use(signal_id):
                    signal = self._signal(signal_id)
                    store = self.visit if signal.scope is SignalScope.SESSION else self.preferences
                    # The values stay here, whatever the purpose's granularity.
                    held[signal_id] = store._values(signal_id)
            if segment.applies(held):
                found.append(segment)
        return tuple(found)

    def _resolve(self, ids: tuple[str, ...]) -> tuple[tuple[Signal, ...], tuple[Segment, ...]]:
        """The signals and segments ``ids`` name, each allowed on this request (the response
        is then built with them); refused as :meth:`use` refuses."""
        signals: dict[str, Signal] = {}
        segments = []
        for given in ids:
            try:
                segment = self.policy.segment(given)
            except KeyError:
                if not self.policy.gives_values(self._signal(given).id):
                    raise ConsentError(
                        f"signal {given!r} belongs to a purpose that gives only segments "
                        '(granularity = "segment"): name the segment that chose the item'
                    ) from None
                signals[given] = self.use(given)
                continue
            usable = [s for s in segment.signals if self.may_use(s)]
            if not usable:
                raise cast(ConsentRequired, self._refusal(self._signal(segment.signals[0])))
            for signal_id in usable:
                signals[signal_id] = self.use(signal_id)
            segments.append(segment)
        return tuple(signals.values()), tuple(segments)

    def reason(self, *ids: str, text: str | None = None, value: str | None = None) -> Reason:
        """The reason for an item chosen with these signals or segments.

        Fails closed: a signal whose purpose is not granted, or whose scope the mode does
        not admit, or that the shopper switched off, raises :class:`ConsentRequired`, so a
        page cannot personalise by accident; a segment needs one of its signals allowed. A
        signal whose purpose gives only segments cannot be named (:class:`ConsentError`).
        ``text`` is the sentence the shopper reads ("Because you viewed ..."; for a segment,
        "Because you seem to like <its label>." unless given); without it the reason says
        "Suggested from" and the signals' labels, in English in ``reason.text`` and in the
        shopper's language where ``why()`` shows it. ``value`` is the stored value of the
        first signal that chose the item (the product viewed), which "Forget this item"
        removes.
        """
        if not ids:
            raise ConsentError("reason() needs at least one signal id; use general_reason()")
        signals, segments = self._resolve(ids)
        purposes = tuple(dict.fromkeys(self.policy.purpose(s.purpose) for s in signals))
        if text is None:
            if segments:
                text = SEGMENT_REASON % {"interest": segments[0].label_for("en")}
            else:
                text = suggested_text(signals)
        if value is not None and not isinstance(value, str):
            raise ConsentError(f"reason(value=...) takes a stored value, a string, not {value!r}")
        return Reason(text, signals, purposes, value=value, segments=segments)

    @staticmethod
    def general_reason(text: str | None = None) -> Reason:
        """The reason for an item chosen without personal data."""
        return Reason.general(text)

    def sponsored_reason(
        self,
        *signal_ids: str,
        sponsor: str,
        text: str | None = None,
        value: str | None = None,
    ) -> Reason:
        """The reason for a paid placement: its disclosure says who paid (``sponsor``) and
        on which of the shopper's data, if any, it was targeted (``signal_ids``).

        Without signal ids the placement is the same for everyone and needs no consent.
        Targeting needs ``marketing`` as well as each signal's own consent: otherwise
        :class:`ConsentRequired` (``purpose="marketing"``, or the signal's), as for
        :meth:`reason`; ask ``allows("marketing")`` and :meth:`may_use` first. ``text`` is
        the sentence the shopper reads ("This is a paid placement." unless given).
        """
        if not isinstance(sponsor, str) or not sponsor.strip():
            raise ConsentError(
                "sponsored_reason() needs the name of who paid: sponsor='Kettle & Co.'"
            )
        signals: tuple[Signal, ...] = ()
        segments: tuple[Segment, ...] = ()
        purposes: tuple[Purpose, ...] = ()
        if signal_ids:
            if MARKETING not in self.policy:
                raise ConsentError(
                    "a targeted sponsored placement needs a 'marketing' purpose in the policy; "
                    "declare one, or give no signal ids for a placement shown to everyone"
                )
            if not self.allows(MARKETING):
                raise ConsentRequired(
                    "targeting a sponsored placement needs purpose 'marketing', which this "
                    "shopper has not granted",
                    purpose=MARKETING,
                )
            signals, segments = self._resolve(signal_ids)
            owners = [s.purpose for s in signals] + [MARKETING]
            purposes = tuple(self.policy.purpose(pid) for pid in dict.fromkeys(owners))
        if value is not None and not isinstance(value, str):
            raise ConsentError(f"reason(value=...) takes a stored value, a string, not {value!r}")
        sentence = SPONSORED_REASON if text is None else text
        return Reason(
            sentence, signals, purposes, value=value, sponsor=sponsor.strip(), segments=segments
        )

    # -- outcomes --------------------------------------------------------------------------

    def count(self, name: str) -> None:
        """Add one to today's count of ``name`` (an outcome the policy declares: an order, a
        basket add) under this request's mode, with no identifier: so a shop can see
        whether its shop without personalisation does as well as with it.

        Counts go to the ledger's database (none without a ledger); a count that cannot be
        kept is dropped, never failing the page. Counting does not make the response vary.
        An undeclared name is a programming error: :class:`ConsentError`.
        """
        if name not in self.policy.outcomes:
            declared = ", ".join(self.policy.outcomes) or "none"
            raise ConsentError(
                f"unknown outcome {name!r}: declare it in the policy's outcomes; the policy "
                f"declares: {declared}"
            )
        counter = getattr(self._host, "count", None)
        if counter is not None:
            varies = self.varies
            mode = self.mode
            self.varies = varies
            counter(name, mode)

    # -- first-party data ------------------------------------------------------------------

    @property
    def visit(self) -> SignalStore:
        """This visit's behaviour (signals of scope ``session``): a cookie that ends with
        the visit and carries no identifier."""
        self.varies = self.personal = True
        if self._visit is None:
            self._visit = self._require_host().open_store(self, SignalScope.SESSION)
        return self._visit

    @property
    def preferences(self) -> SignalStore:
        """Stated preferences (signals of scope ``persistent``), kept only under
        ``personalisation``."""
        self.varies = self.personal = True
        if self._preferences is None:
            self._preferences = self._require_host().open_store(self, SignalScope.PERSISTENT)
        return self._preferences

    def open_stores(self) -> list[SignalStore]:
        """The stores this request has opened."""
        return [store for store in (self._visit, self._preferences) if store is not None]

    # -- for the middleware ----------------------------------------------------------------

    @property
    def cookie_header(self) -> str:
        """The request's ``Cookie`` header, as sent."""
        return self._cookie_header

    @property
    def cookie_grants(self) -> frozenset[str]:
        """The purposes granted, as the middleware screens the app's cookies by them
        (reading them here does not make the response vary)."""
        return self._granted

    def sent_cookies(self, name: str) -> list[str]:
        """Every value the request sent for cookie ``name``, in order (the header is parsed
        once, when first needed)."""
        cookies = self._cookies
        if cookies is None:
            cookies = self._cookies = find_all_cookies(self._cookie_header)
        return cookies.get(name, [])

    @property
    def gpc_withdrawal(self) -> ConsentState | None:
        """The decision as GPC leaves it, when GPC overrides an opt-in the cookie holds: the
        middleware writes it into the cookie and records it."""
        state = self.state
        if state is None or state.granted <= self._granted:
            return None
        # Only what the visitor chose: what the region grants by default is not a choice.
        return replace(state, granted=state.granted & self._granted)

    # -- forms -----------------------------------------------------------------------------

    def _require_host(self) -> ContextHost:
        if self._host is None:
            raise MiddlewareNotInstalled("this context was not made by the consent middleware")
        return self._host

    @property
    def csrf_nonce(self) -> str | None:
        """This browser's CSRF nonce: from its cookie, or made for this response."""
        self.varies = self.personal = True
        if self._csrf_nonce is None and self._host is not None:
            self._csrf_nonce = self._host.csrf.nonce_from(self._cookie_header)
        return self._csrf_nonce

    @property
    def csrf_token(self) -> str:
        """A token for the consent forms; using it makes the response set its cookie."""
        # Made when first asked for, then kept: a page may carry a form with every suggestion.
        token = self._csrf_token
        if token is not None:
            self.varies = self.personal = True
            return token
        csrf = self._require_host().csrf
        nonce = self.csrf_nonce
        if nonce is None:
            nonce = self._csrf_nonce = csrf.new_nonce()
            self.new_csrf_nonce = self.must_write = True
        token = self._csrf_token = csrf.token_for(nonce)
        return token

    def __repr__(self) -> str:
        mode = self._mode or mode_for(self._granted)
        decided = self.state is not None
        return f"<PersonalisationContext mode={mode.value} decided={decided} gpc={self.gpc}>"


def _iso(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat().replace("+00:00", "Z")


_new = object.__new__


def decided_context(
    known: tuple[ConsentState, float, float, str, Mode | None],
    host: DecidingHost,
    target: RequestTarget,
    accept_language: str | list[tuple[bytes, bytes]] | None,
) -> PersonalisationContext:
    """The context of the usual request: a valid cookie of ours, no GPC, no other consent
    manager, no mount point. ``known`` is what the ``Cookie`` header holds: the verified
    decision, the span of time it holds (checked by the caller), the header itself, and the
    mode, or ``None`` to work it out when first read.

    The same as ``PersonalisationContext(host.policy, state, False, host, header,
    host.prefix, None, target)`` followed by :meth:`~PersonalisationContext.accept_language`,
    without ``__init__``'s branches and keyword handling, which cost more than the rest of
    reading a returning visitor's cookie.
    """
    state, _, _, header, mode = known
    ctx = _new(PersonalisationContext)
    ctx.policy = host.policy
    ctx.state = state
    ctx.must_write = False
    ctx._granted = state.granted
    ctx._mode = mode
    ctx._host = host
    ctx._cookie_header = header
    ctx.consent_path = host.prefix
    ctx._target = target
    ctx.varies = False
    ctx.personal = False
    ctx._accept_language = accept_language
    return ctx


def get_context(request: Any) -> PersonalisationContext:
    """The consent context of a request.

    Accepts a Starlette/FastAPI ``Request``, an ASGI scope, a WSGI environ, a Flask or
    Werkzeug request, a WebOb request, or a Django ``HttpRequest``. Raises
    :class:`MiddlewareNotInstalled` (a :class:`ConsentError`) when no consent middleware
    handled the request.
    """
    # A Starlette request first: it is what most apps pass.
    try:
        holder = request.scope
    except AttributeError:
        holder = None
    else:
        if type(holder) is dict:
            try:
                found = holder["consent"]  # SCOPE_KEY; a subscript costs less than get()
            except KeyError:
                pass
            else:
                if type(found) is PersonalisationContext:
                    return found
    if holder is None:
        holder = getattr(request, "environ", request)
    if isinstance(holder, Mapping):
        found = holder.get(SCOPE_KEY)
        if isinstance(found, PersonalisationContext):
            return found
        found = holder.get(ENVIRON_KEY)
        if isinstance(found, PersonalisationContext):
            return found
    # A Django request built without a server (HttpRequest()), as the middleware left it.
    found = getattr(request, "consent", None)
    if isinstance(found, PersonalisationContext):
        return found
    raise MiddlewareNotInstalled(
        "no consent context on this request: wrap the app with ConsentMiddleware (ASGI) "
        "or ConsentWSGIMiddleware (WSGI), or add 'consent_middleware.django."
        "ConsentMiddleware' to Django's MIDDLEWARE, and pass get_context() the request, its "
        f"ASGI scope or its WSGI environ (got {type(request).__name__})"
    )
