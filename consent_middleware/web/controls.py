"""The shopper's controls where recommendations are shown: ``POST {prefix}/signals`` and
``POST {prefix}/pause``.

"Don't use this" (``action=stop``) switches a signal off for this shopper: its stored values
are cleared and the signal is refused, whatever the purposes granted, until it is switched
on again (``action=resume``, from the preference centre). "Forget this item"
(``action=forget``) removes one stored value. Each is recorded in the ledger as a choice
about that signal. "See suggestions without personalisation" pauses personalisation for
this visit (``/pause``, ``action=pause`` or ``resume``): no consent changes and nothing is
recorded. The forms need no JavaScript: they are answered with ``303`` back to ``next``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from ..core.context import PersonalisationContext
from ..core.inventory import Signal, SignalScope
from ..core.redirects import safe_next
from ..ledger.events import Kind, Method
from ..ui.translations import N_
from .messages import Reply, RequestInfo

if TYPE_CHECKING:
    from .engine import ConsentEngine

__all__ = ["ShopperControls"]

logger = logging.getLogger("consent_middleware")

#: Reads a consent form: its fields, or the refusal to send.
FormReader = Callable[
    [RequestInfo, PersonalisationContext], "tuple[list[tuple[str, str]], dict[str, str]] | Reply"
]
#: Answers a refused form: status, context, the reason shown (a catalogue message).
Refuser = Callable[[int, PersonalisationContext, str], Reply]

#: How a signal-level choice may say it was made; anything else is recorded as ``api``.
_METHODS = (Method.WHY, Method.PREFERENCE_CENTRE, Method.FEEDBACK)
_NO_DECISION = N_("Make your privacy choices on this shop first.")


class ShopperControls:
    """Switches signals off and on again and forgets single values, for one browser."""

    def __init__(self, engine: ConsentEngine, read_form: FormReader, refuse: Refuser) -> None:
        self.engine = engine
        self._read_form = read_form
        self._refuse = refuse

    def signals(
        self, request: RequestInfo, ctx: PersonalisationContext, cookie_header: str
    ) -> Reply:
        """``POST {prefix}/signals``: ``signal``, ``action`` (``stop``, ``forget`` or
        ``resume``), ``value`` (to forget), ``csrf_token``, ``next``."""
        read = self._read_form(request, ctx)
        if isinstance(read, Reply):
            return read
        _, form = read
        action = form.get("action")
        if action not in ("stop", "forget", "resume"):
            return self._refuse(400, ctx, N_("The form did not say which choice was made."))
        signal = self._declared(form.get("signal"))
        if signal is None:
            return self._refuse(400, ctx, N_("The form named nothing this shop uses."))
        if ctx.state is None:
            # Choices about signals are kept under a decision made on this shop.
            return self._refuse(409, ctx, _NO_DECISION)
        method = form.get("method", Method.API)
        if method not in _METHODS:
            method = Method.API
        if action == "stop":
            cookies = self.stop(ctx, [signal], method)
        elif action == "forget":
            value = form.get("value")
            if not value:
                return self._refuse(400, ctx, N_("The form did not say which item to forget."))
            cookies = self._forget(ctx, signal, value, method)
        else:
            resumed = self._resume(ctx, signal, method)
            if resumed is None:
                reply = self._refuse(
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
        read = self._read_form(request, ctx)
        if isinstance(read, Reply):
            return read
        _, form = read
        action = form.get("action")
        if action not in ("pause", "resume"):
            return self._refuse(400, ctx, N_("The form did not say which choice was made."))
        return see_other(form.get("next"), [self.engine.cookies.pause_cookie(action == "pause")])

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
