"""The shopper's controls where recommendations are shown: ``POST {prefix}/signals``,
``POST {prefix}/pause`` and ``POST {prefix}/feedback``.

"Don't use this" (``action=stop``) switches a signal off for this shopper: its stored values
are cleared and the signal is refused, whatever the purposes granted, until it is switched
on again (``action=resume``, from the preference centre). "Forget this item"
(``action=forget``) removes one stored value. Each is recorded in the ledger as a choice
about that signal. "See suggestions without personalisation" pauses personalisation for
this visit (``/pause``, ``action=pause`` or ``resume``): no consent changes and nothing is
recorded. "Helpful" and "Too personal" (``/feedback``) are counted with no identifier. The
forms need no JavaScript: they are answered with ``303`` back to ``next``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol

from ..core.context import PersonalisationContext
from ..core.inventory import Signal, SignalScope
from ..core.redirects import safe_next
from ..ledger.events import Kind, Method
from ..ui.translations import N_
from .messages import Reply, RequestInfo

if TYPE_CHECKING:
    from .engine import ConsentEngine

__all__ = ["ShopperControls"]


class Forms(Protocol):
    """How the consent endpoints read and refuse forms (``Endpoints``)."""

    def read_form(
        self, request: RequestInfo, ctx: PersonalisationContext, *, csrf: bool = True
    ) -> tuple[list[tuple[str, str]], dict[str, str]] | Reply: ...

    def refuse(self, status: int, ctx: PersonalisationContext, reason: str) -> Reply: ...

    def token_valid(self, form: dict[str, str], ctx: PersonalisationContext) -> bool: ...

    def stale_form(self, ctx: PersonalisationContext) -> Reply: ...


#: How a signal-level choice may say it was made; anything else is recorded as ``api``.
_METHODS = (Method.WHY, Method.PREFERENCE_CENTRE, Method.FEEDBACK)
_NO_DECISION = N_("Make your privacy choices on this shop first.")
#: What a shopper may answer in a disclosure, and the kinds of reason answered about.
ANSWERS = ("helpful", "too_personal")
REASON_KINDS = ("general", "personal", "sponsored", "segment")


class ShopperControls:
    """Answers the shopper's controls: signals switched off and on again, single values
    forgotten, personalisation paused for a visit, feedback counted."""

    def __init__(self, engine: ConsentEngine, forms: Forms) -> None:
        self.engine = engine
        self.forms = forms

    def signals(
        self, request: RequestInfo, ctx: PersonalisationContext, cookie_header: str
    ) -> Reply:
        """``POST {prefix}/signals``: ``signal``, ``action`` (``stop``, ``forget`` or
        ``resume``), ``value`` (to forget), ``csrf_token``, ``next``."""
        read = self.forms.read_form(request, ctx)
        if isinstance(read, Reply):
            return read
        _, form = read
        action = form.get("action")
        if action not in ("stop", "forget", "resume"):
            return self.forms.refuse(400, ctx, N_("The form did not say which choice was made."))
        signal = self._declared(form.get("signal"))
        if signal is None:
            return self.forms.refuse(400, ctx, N_("The form named nothing this shop uses."))
        if ctx.state is None:
            # Choices about signals are kept under a decision made on this shop.
            return self.forms.refuse(409, ctx, _NO_DECISION)
        method = form.get("method", Method.API)
        if method not in _METHODS:
            method = Method.API
        if action == "stop":
            cookies = self.stop(ctx, [signal], method)
        elif action == "forget":
            value = form.get("value")
            if not value:
                return self.forms.refuse(400, ctx, N_("The form did not say which item to forget."))
            cookies = self._forget(ctx, signal, value, method)
        else:
            resumed = self._resume(ctx, signal, method)
            if resumed is None:
                reply = self.forms.refuse(
                    503,
                    ctx,
                    N_("Your choice could not be saved just now. Please try again in a moment."),
                )
                reply.headers.append(("Retry-After", "5"))
                return reply
            cookies = resumed
        return see_other(form.get("next"), cookies)

    def pause(self, request: RequestInfo, ctx: PersonalisationContext, cookie_header: str) -> Reply:
        """``POST {prefix}/pause``: ``action`` (``pause`` or ``resume``), ``csrf_token``,
        ``next``. Personalisation stops for this visit only (a session cookie), without a new
        consent, and starts again on ``resume`` or with the next visit."""
        read = self.forms.read_form(request, ctx)
        if isinstance(read, Reply):
            return read
        _, form = read
        action = form.get("action")
        if action not in ("pause", "resume"):
            return self.forms.refuse(400, ctx, N_("The form did not say which choice was made."))
        return see_other(form.get("next"), [self.engine.cookies.pause_cookie(action == "pause")])

    def feedback(
        self, request: RequestInfo, ctx: PersonalisationContext, cookie_header: str
    ) -> Reply:
        """``POST {prefix}/feedback``: ``answer`` (``helpful`` or ``too_personal``),
        ``kind`` (the reason's), one ``signal`` field per signal it used, ``next``.

        Counted per day, mode, kind of reason, signal and answer, with no identifier of the
        shopper. "Too personal" about the shopper's own data also switches those signals
        off, as "Don't use this" does: that needs the form's ``csrf_token``.
        """
        read = self.forms.read_form(request, ctx, csrf=False)
        if isinstance(read, Reply):
            return read
        fields, form = read
        answer, kind = form.get("answer"), form.get("kind")
        if answer not in ANSWERS or kind not in REASON_KINDS:
            return self.forms.refuse(400, ctx, N_("The form did not say which answer was given."))
        signals: dict[str, Signal] = {}
        for name, value in fields:
            if name == "signal":
                signal = self._declared(value)
                if signal is None:
                    return self.forms.refuse(400, ctx, N_("The form named nothing this shop uses."))
                signals[signal.id] = signal
        cookies = []
        if answer == "too_personal" and signals and ctx.state is not None:
            if not self.forms.token_valid(form, ctx):
                return self.forms.stale_form(ctx)
            cookies = self.stop(ctx, signals.values(), Method.FEEDBACK)
        mode = ctx.mode.value
        for signal_id in signals or [""]:
            self.engine.records.count("feedback", answer, mode, kind, signal_id)
        return see_other(form.get("next"), cookies)

    def _declared(self, signal_id: str | None) -> Signal | None:
        try:
            return self.engine.policy.signal(signal_id or "")
        except KeyError:
            return None

    def stop(
        self, ctx: PersonalisationContext, signals: Iterable[Signal], method: str
    ) -> list[str]:
        """Switch ``signals`` off for the browser of ``ctx`` (which has decided): the
        ``Set-Cookie`` lines that do it. Takes effect at once, like any refusal, and is
        recorded now or a little later."""
        state = ctx.state
        assert state is not None
        signals = list(signals)
        stopped = ctx.stopped_signals
        records = self.engine.records
        for signal in signals:
            if signal.id not in stopped:
                records.record(records.signal_event(ctx, signal.id, Kind.STOPPED, method))
        now_stopped = stopped | {s.id for s in signals}
        cookies = [self.engine.stops_cookie(now_stopped, state.consent_id)]
        for scope in (SignalScope.SESSION, SignalScope.PERSISTENT):
            mine = [s for s in signals if s.scope is scope]
            if mine:
                store = ctx.visit if scope is SignalScope.SESSION else ctx.preferences
                for signal in mine:
                    store.clear(signal.id)
                cookies += self._save(ctx, scope)
        return cookies

    def _forget(
        self, ctx: PersonalisationContext, signal: Signal, value: str, method: str
    ) -> list[str]:
        store = ctx.visit if signal.scope is SignalScope.SESSION else ctx.preferences
        store.remove(signal.id, value)
        records = self.engine.records
        # The value itself is never recorded: it is what the shopper asked to forget.
        records.record(records.signal_event(ctx, signal.id, Kind.FORGOTTEN, method))
        return self._save(ctx, signal.scope)

    def _resume(self, ctx: PersonalisationContext, signal: Signal, method: str) -> list[str] | None:
        """Switch ``signal`` on again: answered only once durable, as a grant is; ``None``
        when it could not be kept."""
        state = ctx.state
        assert state is not None
        stopped = ctx.stopped_signals
        if signal.id in stopped:
            records = self.engine.records
            if not records.keep(records.signal_event(ctx, signal.id, Kind.RESUMED, method)):
                return None
        return [self.engine.stops_cookie(stopped - {signal.id}, state.consent_id)]

    def _save(self, ctx: PersonalisationContext, scope: SignalScope) -> list[str]:
        store = ctx.visit if scope is SignalScope.SESSION else ctx.preferences
        if not store.dirty:
            return []
        assert ctx.state is not None
        return self.engine.write_store(scope, store.entries(), ctx.state.consent_id)


def see_other(next_path: str | None, cookies: list[str]) -> Reply:
    """Back to ``next`` (a path on this site, else ``/``), setting ``cookies``."""
    headers = [("Location", safe_next(next_path)), ("Cache-Control", "no-store")]
    return Reply(303, headers + [("Set-Cookie", c) for c in cookies])
