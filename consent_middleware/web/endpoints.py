"""The consent endpoints: the preference page, recording a choice, the state, the
explanation page and ``/.well-known/gpc.json``."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import time
from dataclasses import replace
from functools import lru_cache
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from ..core.codec import ConsentState, new_consent_id
from ..core.context import PersonalisationContext
from ..core.csrf import origin_allowed
from ..core.exceptions import ConsentRequired
from ..core.inventory import SignalScope
from ..core.redirects import safe_next
from ..ledger.events import Method
from ..ui.pages import Pages
from ..ui.translations import N_
from .controls import ShopperControls
from .controls import see_other as _see_other
from .messages import Reply, RequestInfo
from .rights import DataRights
from .routes import Route, method_not_allowed

if TYPE_CHECKING:
    from .engine import ConsentEngine

__all__ = ["GPC_PATH", "MAX_FORM_BYTES", "Endpoints"]

logger = logging.getLogger("consent_middleware")

GPC_PATH = "/.well-known/gpc.json"
#: A consent form is a few hundred bytes; anything far larger is refused unread.
MAX_FORM_BYTES = 16 * 1024

_READ = ("GET", "HEAD")
_NO_STORE = ("Cache-Control", "no-store")
#: No other site may frame what the middleware serves (clickjacking), and no response of
#: ours loads anything.
_LOCKED_DOWN = "default-src 'none'; base-uri 'none'; frame-ancestors 'none'"
_NONE = "'none'"
_STYLE = re.compile(rb"<style>(.*?)</style>", re.DOTALL)
_NOTHING: frozenset[str] = frozenset()


class Endpoints:
    """Answers the requests the middleware serves itself."""

    def __init__(self, engine: ConsentEngine) -> None:
        self.engine = engine
        self.pages = Pages()
        self.rights = DataRights(engine)
        #: "Don't use this", "Forget this item", the pause for a visit, feedback.
        self.controls = ShopperControls(engine, self)
        prefix = engine.prefix
        routes = [
            Route("preferences", prefix, (*_READ, "POST"), self._preferences, reads_body=True),
            Route("state", prefix + "/state", _READ, self._state, may_block=False),
            Route("why", prefix + "/why", _READ, self._why),
            Route("data", prefix + "/data", _READ, self._download),
            Route("forget", prefix + "/forget", ("POST",), self._forget, reads_body=True),
            Route(
                "signals", prefix + "/signals", ("POST",), self.controls.signals, reads_body=True
            ),
            Route("pause", prefix + "/pause", ("POST",), self.controls.pause, reads_body=True),
            Route(
                "feedback", prefix + "/feedback", ("POST",), self.controls.feedback, reads_body=True
            ),
        ]
        if engine.gpc_json:
            routes.append(Route("gpc", GPC_PATH, _READ, self._gpc, may_block=False))
        self._named = {route.name: route for route in routes}
        #: Every path served, with its route; the preference page is also at ``prefix/``.
        self.routes = {route.path: route for route in routes}
        self.routes[prefix + "/"] = self._named["preferences"]
        #: A path starting with none of these is never an endpoint.
        self.prefixes = (prefix, GPC_PATH) if engine.gpc_json else (prefix,)

    def route(self, path: str) -> str | None:
        """The name of the route served at ``path``, or ``None`` to pass the request to the
        app."""
        route = self.routes.get(path)
        return None if route is None else route.name

    def wants_body(self, endpoint: str, method: str) -> bool:
        """Whether the adapter must read the request body for this route."""
        return method == "POST" and self._named[endpoint].reads_body

    def blocking(self, endpoint: str) -> bool:
        """Whether answering may wait on a store (ASGI runs these in a worker thread, off
        the event loop)."""
        return self._named[endpoint].may_block

    def handle(
        self, endpoint: str, request: RequestInfo, ctx: PersonalisationContext, cookie_header: str
    ) -> Reply:
        """Answer one request to the route named ``endpoint``."""
        route = self._named[endpoint]
        # Read only if a page is rendered (ctx.language).
        ctx.accept_language(request.header("accept-language"))
        self.engine.records.start()  # this process's first consent request starts it
        if request.method in route.methods:
            reply = route.handler(request, ctx, cookie_header)
        else:
            reply = method_not_allowed(route)
        reply.headers += _protection(reply)
        reply.headers.append(("Content-Length", str(len(reply.body))))
        if request.method == "HEAD":
            reply.body = b""
        return reply

    # -- the handlers ----------------------------------------------------------------------

    def _preferences(
        self, request: RequestInfo, ctx: PersonalisationContext, cookie_header: str
    ) -> Reply:
        if request.method == "POST":
            return self._record_choice(request, ctx, cookie_header)
        return self._preferences_page(request, ctx)

    def _state(
        self, request: RequestInfo, ctx: PersonalisationContext, cookie_header: str
    ) -> Reply:
        return _json(200, ctx.public_state(), [_NO_STORE])

    def _why(self, request: RequestInfo, ctx: PersonalisationContext, cookie_header: str) -> Reply:
        return _html(
            200, self.pages.render("consent/why_page.html", ctx.language, ctx=ctx, consent=ctx)
        )

    def _gpc(self, request: RequestInfo, ctx: PersonalisationContext, cookie_header: str) -> Reply:
        document: dict[str, object] = {"gpc": True}
        if self.engine.policy.last_updated is not None:
            document["lastUpdate"] = self.engine.policy.last_updated.isoformat()
        return _json(200, document, [("Cache-Control", "public, max-age=86400")])

    def _preferences_page(self, request: RequestInfo, ctx: PersonalisationContext) -> Reply:
        try:
            query = dict(parse_qsl(request.query_string, max_num_fields=20))
        except ValueError:  # far more fields than a link to this page has: ignore them
            query = {}
        html = self.pages.render(
            "consent/preferences.html",
            ctx.language,
            ctx=ctx,
            consent=ctx,
            next=safe_next(query.get("next")),
        )
        reply = _html(200, html)
        if ctx.new_csrf_nonce and ctx.csrf_nonce is not None:
            reply.headers.append(("Set-Cookie", self.engine.csrf_cookie(ctx.csrf_nonce)))
        return reply

    def _refuse(self, status: int, ctx: PersonalisationContext, reason: str) -> Reply:
        logger.info("consent form refused (%d): %s", status, reason)
        return _html(
            status,
            self.pages.render(
                "consent/error.html", ctx.language, reason=reason, retry=ctx.consent_path
            ),
        )

    def _read_form(
        self, request: RequestInfo, ctx: PersonalisationContext, *, csrf: bool = True
    ) -> tuple[list[tuple[str, str]], dict[str, str]] | Reply:
        """The fields of a consent form, or the refusal to send when it is not one.

        ``csrf=False`` leaves the token to the caller (a form that may change nothing of
        the shopper's); the origin is checked all the same."""
        content_type = (request.header("content-type") or "").partition(";")[0].strip().lower()
        if content_type != "application/x-www-form-urlencoded":
            return self._refuse(415, ctx, N_("The form must be sent as a normal web form."))
        if request.body_too_large or len(request.body) > MAX_FORM_BYTES:
            return self._refuse(413, ctx, N_("The form was far larger than a consent form."))
        if not origin_allowed(
            request.header("origin"),
            request.header("sec-fetch-site"),
            request.header("host"),
            self.engine.trusted_origins,
            scheme=request.scheme,
        ):
            return self._refuse(403, ctx, N_("The form was sent from another site."))
        try:
            fields = parse_qsl(
                request.body.decode("utf-8", "replace"),
                keep_blank_values=True,
                max_num_fields=2 * len(self.engine.policy.purposes) + 16,
            )
        except ValueError:
            return self._refuse(400, ctx, N_("The form had too many fields."))
        form: dict[str, str] = {}
        for name, value in fields:
            form.setdefault(name, value)
        if csrf and not self.token_valid(form, ctx):
            return self.stale_form(ctx)
        return fields, form

    # What the shopper's controls (controls.py) use of the consent forms' handling.
    read_form = _read_form

    def refuse(self, status: int, ctx: PersonalisationContext, reason: str) -> Reply:
        """A refused form's page: nothing was changed, and ``reason`` (a catalogue message)."""
        return self._refuse(status, ctx, reason)

    def token_valid(self, form: dict[str, str], ctx: PersonalisationContext) -> bool:
        """Whether the form carries the token of this browser's form nonce."""
        return self.engine.csrf.check(form.get("csrf_token"), ctx.csrf_nonce)

    def stale_form(self, ctx: PersonalisationContext) -> Reply:
        """The refusal of a form without a valid token."""
        return self._refuse(
            403, ctx, N_("The form has expired or was not sent from this shop's page.")
        )

    def _record_choice(
        self, request: RequestInfo, ctx: PersonalisationContext, cookie_header: str
    ) -> Reply:
        read = self._read_form(request, ctx)
        if isinstance(read, Reply):
            return read
        fields, form = read
        action = form.get("action")
        if action == "save_preferences":
            return self._record_preferences(fields, form, ctx)
        if action == "accept_all":
            chosen = list(self.engine.policy.accept_all_ids)
        elif action == "reject_all":
            chosen = []
        elif action == "save":
            chosen = [value for name, value in fields if name == "purpose"]
        else:
            return self._refuse(400, ctx, N_("The form did not say which choice was made."))
        granted, pending, changed = self._answered(ctx, chosen, fields)
        consent_id, renewed = ctx.consent_id, False
        if consent_id is None:
            # An expired cookie, or one from an earlier policy: the same browser renews.
            consent_id = self.engine.expired_consent_id(cookie_header)
            renewed = consent_id is not None
        state = ConsentState(
            consent_id or new_consent_id(), granted, int(time.time()), pending, changed
        )
        shown = form.get("language")
        if shown in self.engine.languages:
            ctx.language = shown  # the language the form was shown in
        method = form.get("method", Method.API)
        if method not in (Method.BANNER, Method.PREFERENCE_CENTRE):
            method = Method.API
        records = self.engine.records
        event = records.event(ctx, state, method, renewed=renewed)
        previous = ctx.state.granted if ctx.state is not None else self.engine.policy.required_ids
        if granted <= previous:
            # A refusal or a withdrawal takes effect at once, recorded now or a little later.
            records.record(event)
        elif not records.keep(event):
            return self._not_saved(ctx, state, previous, method, cookie_header)
        return _see_other(form.get("next"), self.engine.decision_cookies(state, cookie_header))

    def _answered(
        self, ctx: PersonalisationContext, chosen: list[str], fields: list[tuple[str, str]]
    ) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
        """What a form decides: the purposes granted, and those still awaiting a choice
        (with those of them changed since an earlier one).

        A form that lists ``asked`` purposes (the banner asking only about what was added or
        changed since the last choice) decides those alone; the others keep their choice.
        Global Privacy Control keeps its purposes off, whatever the form says (in opt_out
        regions every opt_out_allowed one).
        """
        policy = self.engine.policy
        asked = {value for name, value in fields if name == "asked"} & policy.optional_ids
        if not asked:
            return policy.grant(chosen) - ctx.gpc_opt_outs, _NOTHING, _NOTHING
        before = ctx.state
        kept = (policy.required_ids if before is None else before.granted) - asked
        granted = policy.grant([*kept, *(pid for pid in chosen if pid in asked)])
        waiting = policy.optional_ids if before is None else before.pending
        pending = waiting - asked - granted
        changed = _NOTHING if before is None else before.changed & pending
        return granted - ctx.gpc_opt_outs, pending, changed

    def _not_saved(
        self,
        ctx: PersonalisationContext,
        chosen: ConsentState,
        previous: frozenset[str],
        method: str,
        cookie_header: str,
    ) -> Reply:
        """A grant that could not be made durable is not acknowledged: no new consent, and
        only the part of the choice that withdraws something takes effect."""
        reply = self._refuse(
            503, ctx, N_("Your choice could not be saved just now. Please try again in a moment.")
        )
        reply.headers.append(("Retry-After", "5"))
        before = ctx.state
        if before is not None and not previous <= chosen.granted:
            # A purpose that awaited a choice and was to be granted awaits it still.
            unsaved = chosen.granted - previous
            withdrawn = replace(
                chosen,
                granted=previous & chosen.granted,
                pending=chosen.pending | (unsaved & before.pending),
                changed=chosen.changed | (unsaved & before.changed),
            )
            records = self.engine.records
            records.record(records.event(ctx, withdrawn, method))
            cookies = self.engine.decision_cookies(withdrawn, cookie_header)
            reply.headers += [("Set-Cookie", c) for c in cookies]
        return reply

    def _forget(
        self, request: RequestInfo, ctx: PersonalisationContext, cookie_header: str
    ) -> Reply:
        read = self._read_form(request, ctx)
        if isinstance(read, Reply):
            return read
        erasure = self.rights.erase(ctx, cookie_header)
        if not erasure.complete:
            # The cookie that finds this browser's data stays, so that a retry can finish.
            reply = _html(
                503,
                self.pages.render(
                    "consent/erase_failed.html",
                    ctx.language,
                    removed=erasure.removed,
                    reference=erasure.reference,
                    ctx=ctx,
                ),
            )
            reply.headers.append(("Retry-After", "5"))
            return reply
        reply = _html(
            200,
            self.pages.render(
                "consent/forgotten.html", ctx.language, removed=erasure.removed, ctx=ctx
            ),
        )
        reply.headers += [("Set-Cookie", c) for c in erasure.cookies]
        return reply

    def _download(
        self, request: RequestInfo, ctx: PersonalisationContext, cookie_header: str
    ) -> Reply:
        # A host exporter may return dates or decimals: they are written as text.
        data = self.rights.export(ctx, cookie_header)
        body = json.dumps(data, indent=2, default=str).encode()
        return Reply(
            200,
            [
                ("Content-Type", "application/json"),
                ("Content-Disposition", 'attachment; filename="my-shop-data.json"'),
                _NO_STORE,
            ],
            body,
        )

    def _record_preferences(
        self, fields: list[tuple[str, str]], form: dict[str, str], ctx: PersonalisationContext
    ) -> Reply:
        """Stated preferences from the preference centre: only declared choices are kept."""
        stated = [s for s in self.engine.policy.signals if s.choices]
        if ctx.external is not None:  # preferences are kept under a consent id of ours
            return self._refuse(403, ctx, N_("Save your privacy choices here first."))
        try:
            for signal in stated:
                values = [v for name, v in fields if name == signal.id and v in signal.choices]
                ctx.preferences.set(signal.id, values)
        except ConsentRequired:
            return self._refuse(
                403, ctx, N_("Preferences are kept only while personalisation is on.")
            )
        store = ctx.preferences
        cookies = self.engine.write_store(SignalScope.PERSISTENT, store.entries(), ctx.consent_id)
        return _see_other(form.get("next"), cookies)


def _html(status: int, html: str) -> Reply:
    return Reply(status, [("Content-Type", "text/html; charset=utf-8"), _NO_STORE], html.encode())


def _json(status: int, data: object, headers: list[tuple[str, str]]) -> Reply:
    body = json.dumps(data, separators=(",", ":")).encode()
    return Reply(status, [("Content-Type", "application/json"), *headers], body)


def _protection(reply: Reply) -> list[tuple[str, str]]:
    """The headers every response of the middleware carries, whatever its status.

    Our own pages need only their inline ``<style>`` blocks (allowed by hash) and forms that
    post to this site; everything else is refused.
    """
    policy = _LOCKED_DOWN
    content_type = next((v for k, v in reply.headers if k == "Content-Type"), "")
    if content_type.startswith("text/html"):
        styles = " ".join(_style_source(block) for block in _STYLE.findall(reply.body))
        policy += f"; form-action 'self'; style-src {styles or _NONE}"
    return [
        ("Content-Security-Policy", policy),
        ("X-Frame-Options", "DENY"),
        ("X-Content-Type-Options", "nosniff"),
    ]


@lru_cache(maxsize=64)
def _style_source(block: bytes) -> str:
    """The CSP source that allows this inline style block (the blocks are the templates')."""
    return f"'sha256-{base64.b64encode(hashlib.sha256(block).digest()).decode()}'"
