"""Jinja2 helpers: gate markup on consent, explain items, render the consent UI.

``install(env)`` works with any environment: Starlette's ``Jinja2Templates(...).env``,
Flask's ``app.jinja_env`` or a bare ``jinja2.Environment``. The helpers find the request's
context in the template context, from a ``consent`` variable or from ``request``. Their own
templates (``consent/banner.html``, ``consent/why.html``, ...) can be overridden by putting a
template of the same name where ``env`` looks first. Everything they print is autoescaped,
whatever the environment's own setting.
"""

from __future__ import annotations

import json
import weakref
from dataclasses import replace
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.ext import Extension
from jinja2.parser import Parser
from markupsafe import Markup, escape

from ..core.consent_mode import ConsentMode
from ..core.context import PersonalisationContext, get_context
from ..core.exceptions import ConsentError, MiddlewareNotInstalled
from ..core.modes import Mode, mode_for
from ..core.policy import PERSONALISATION, SESSION_PERSONALISATION
from ..core.reasons import Reason
from ..core.redirects import safe_next
from ..core.regions import RuleSet
from .disclosure import PAGE_KEY, Page, escape_text
from .translations import N_, template_values

__all__ = ["ConsentExtension", "install"]

_PACKAGE_LOADER = jinja2.PackageLoader("consent_middleware.ui", "templates")


def install(env: jinja2.Environment) -> jinja2.Environment:
    """Register the ``{% consent %}`` tag, the helpers and the package's templates."""
    env.add_extension(ConsentExtension)
    if "jinja2.ext.InternationalizationExtension" not in env.extensions:
        # The package's templates are translated with their own catalogue, given with each
        # render; the extension lets overrides use {% trans %} too.
        env.add_extension("jinja2.ext.i18n")
        env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
    if env.loader is None:
        env.loader = _PACKAGE_LOADER
    elif not _has_package_loader(env.loader):
        # The host's templates come first, so any of ours can be overridden by name.
        env.loader = jinja2.ChoiceLoader([env.loader, _PACKAGE_LOADER])
    env.globals.update(
        why=why,
        consent_banner=consent_banner,
        preference_centre=preference_centre,
        consent_state_json=consent_state_json,
        privacy_choices_link=privacy_choices_link,
        consent_mode_script=consent_mode_script,
        personalisation_switch=personalisation_switch,
    )
    return env


def _has_package_loader(loader: jinja2.BaseLoader) -> bool:
    if loader is _PACKAGE_LOADER:
        return True
    return isinstance(loader, jinja2.ChoiceLoader) and _PACKAGE_LOADER in loader.loaders


def context_of(template_context: jinja2.runtime.Context) -> PersonalisationContext:
    """The consent context of the request a template is rendered for."""
    return _find_context(template_context)[0]


def _find_context(template_context: jinja2.runtime.Context) -> tuple[PersonalisationContext, Any]:
    """The consent context, and the ``request`` it was found through (``None`` when the
    template has a ``consent`` variable)."""
    # Looked up as Jinja2 resolves a name: the template's own variables, then the ones it
    # was rendered with.
    explicit = template_context.vars.get("consent")
    if explicit is None:
        explicit = template_context.parent.get("consent")
    if isinstance(explicit, PersonalisationContext):
        return explicit, None
    request = template_context.get("request")
    if request is None:
        raise MiddlewareNotInstalled(
            "no consent context in this template: render it with the request "
            "(Starlette and Flask do) or pass consent=get_context(request); a macro "
            "imported from another template needs '{% from ... import ... with context %}'"
        )
    return get_context(request), request


class ConsentExtension(Extension):
    """``{% consent "analytics" %}...{% else %}...{% endconsent %}``: the body is rendered
    only when the purpose is granted, on the server, so nothing gated reaches the browser."""

    tags = {"consent"}

    def parse(self, parser: Parser) -> nodes.Node:
        lineno = next(parser.stream).lineno
        purpose = parser.parse_expression()
        body = parser.parse_statements(("name:else", "name:endconsent"))
        otherwise: list[nodes.Node] = []
        if next(parser.stream).test("name:else"):
            otherwise = parser.parse_statements(("name:endconsent",), drop_needle=True)
        test = self.call_method("_allows", [nodes.ContextReference(), purpose], lineno=lineno)
        return nodes.If(test, body, [], otherwise, lineno=lineno)

    @staticmethod
    def _allows(template_context: jinja2.runtime.Context, purpose: str) -> bool:
        return context_of(template_context).allows(purpose)


_PACKAGE_DIR = str(Path(__file__).parent / "templates")


_TEMPLATES: weakref.WeakKeyDictionary[jinja2.Environment, dict[str, tuple[jinja2.Template, bool]]]
_TEMPLATES = weakref.WeakKeyDictionary()


def _template(env: jinja2.Environment, name: str) -> tuple[jinja2.Template, bool]:
    """The template, looked up once per environment, and whether it is the package's own."""
    templates = _TEMPLATES.get(env)
    if templates is None:
        templates = _TEMPLATES.setdefault(env, {})
    found = templates.get(name)
    if found is None:
        template = env.get_template(name)
        own = (template.filename or "").startswith(_PACKAGE_DIR)
        found = templates[name] = (template, own)
    return found


def _render(
    template_context: jinja2.runtime.Context,
    name: str,
    ctx: PersonalisationContext,
    /,
    **values: Any,
) -> Markup:
    # In the request's language: gettext, ngettext, retention_text, language, label...
    values.update(template_values(ctx.language, ctx.languages[0]))
    template, own = _template(template_context.environment, name)
    if not own:
        # A host's template may use the environment's globals (url_for, ...).
        return Markup(template.render(**values))
    # The package's templates use only what they are given: skip merging the globals.
    return Markup("".join(template.root_render_func(template.new_context(values, shared=True))))


def _reason_of(item_or_reason: object) -> Reason:
    if isinstance(item_or_reason, Reason):
        return item_or_reason
    reason = getattr(item_or_reason, "reason", None)
    if reason is None and isinstance(item_or_reason, dict):
        reason = item_or_reason.get("reason")
    if not isinstance(reason, Reason):
        raise ConsentError(
            "why() needs a Reason, or an item with a .reason (or ['reason']) that is one: "
            "use ctx.reason(...) or ctx.general_reason()"
        )
    return reason


@jinja2.pass_context
def why(template_context: jinja2.runtime.Context, item_or_reason: object) -> Markup:
    """A "Why am I seeing this?" disclosure for an item or a :class:`Reason`.

    A personal reason also carries the shopper's controls, plain forms that need no
    JavaScript: "Don't use this" for each signal and, when the reason names the value that
    chose the item, "Forget this item".
    """
    # A page may call this for every item, mostly of one kind in a row: the usual item
    # first, without a call. The render keeps what its disclosures share (see Page).
    reason = item_or_reason.get("reason") if type(item_or_reason) is dict else item_or_reason
    page: Page | None = getattr(template_context.eval_ctx, PAGE_KEY, None)
    if (
        page is not None
        and type(reason) is Reason
        and "consent" not in template_context.vars
        and (
            page.ctx is template_context.parent.get("consent")
            or (page.request is not None and _same_request(template_context, page.request))
        )
    ):
        kind = page.usual
        text = reason.text
        if (
            kind is not None
            and type(text) is str
            and kind.signals == reason.signals
            and kind.segments == reason.segments
            and reason.value is None
            and reason.sponsor is None
        ):
            whole = kind.whole.get(text)
            if whole is not None:
                return whole
            return _markup(Markup, "".join((kind.before, escape_text(text), kind.after)))
    return _why(template_context, item_or_reason)


def _why(template_context: jinja2.runtime.Context, item_or_reason: object) -> Markup:
    """:func:`why` for any item."""
    ctx, request = _find_context(template_context)
    reason = _reason_of(item_or_reason)
    page: Page | None = getattr(template_context.eval_ctx, PAGE_KEY, None)
    if page is None or page.ctx is not ctx:
        page = _page(template_context, ctx)
    page.request = request
    html = page.disclosure(reason)
    if html is not None:
        return html
    text = page.sentence(reason)
    return _render(
        template_context,
        "consent/why.html",
        ctx,
        reason=reason if text is reason.text else replace(reason, text=text),
        purpose=ctx.policy.purpose,
        change_url=ctx.change_url(),
        source=page.source,
        by_default=page.by_default,
        **_controls(ctx, page.token(reason)),
    )


_markup = str.__new__  # a Markup of text escaped already, without Markup's own checks


def _same_request(template_context: jinja2.runtime.Context, request: object) -> bool:
    """Whether the template still finds its context through ``request``, no ``consent``
    variable before it (see _find_context)."""
    parent = template_context.parent
    return (
        "request" not in template_context.vars
        and parent.get("request") is request
        and not isinstance(parent.get("consent"), PersonalisationContext)
    )


def _page(template_context: jinja2.runtime.Context, ctx: PersonalisationContext) -> Page:
    """A new :class:`Page` for this render and context, kept on the render."""
    env = template_context.environment
    template, own = _template(env, "consent/why.html")
    page = Page(env, ctx, template if own else None)
    setattr(template_context.eval_ctx, PAGE_KEY, page)
    return page


def _controls(ctx: PersonalisationContext, token: str | None) -> dict[str, Any]:
    """What the disclosure's forms need: the shopper's controls only with a token."""
    return {
        "token": token,
        "next": ctx.path,
        "signals_url": ctx.consent_path + "/signals",
        "feedback_url": ctx.consent_path + "/feedback",
    }


@jinja2.pass_context
def consent_banner(template_context: jinja2.runtime.Context) -> Markup:
    """The first-layer banner, shown until the visitor has made a choice, and again, about
    them alone, for purposes added or changed since (``ctx.pending``).

    Where the visitor's region lets purposes start granted (the ``opt_out`` and ``notice``
    rule sets) and the policy has such purposes, a notice instead (``consent/notice.html``):
    what is on, what Global Privacy Control keeps off, a "Got it" that keeps it so and, in
    ``opt_out`` regions, the "Do Not Sell or Share My Personal Information" link.
    """
    ctx = context_of(template_context)
    # A shopper who chose before is asked only about what was added or changed since.
    pending = ctx.pending
    decided = ctx.decided
    if decided and not pending:
        return Markup("")
    policy = ctx.policy
    next_path = safe_next(ctx.path)
    undecided = policy.optional_ids if not decided else frozenset(pending)
    if not policy.opt_out_allowed_ids & undecided or ctx.rule_set is RuleSet.OPT_IN:
        return _render(
            template_context,
            "consent/banner.html",
            ctx,
            ctx=ctx,
            next=next_path,
            pending=pending,
        )
    granted, by_default, off = ctx.granted, ctx.on_by_default, ctx.gpc_opt_outs
    return _render(
        template_context,
        "consent/notice.html",
        ctx,
        ctx=ctx,
        next=next_path,
        opt_out=ctx.rule_set is RuleSet.OPT_OUT,
        on=[p for p in policy.optional if p.id in by_default],
        off=[p for p in policy.optional if p.id in off],
        # "Got it" keeps what is on now.
        kept=[p.id for p in policy.optional if p.id in granted],
    )


@jinja2.pass_context
def preference_centre(template_context: jinja2.runtime.Context, next: str | None = None) -> Markup:
    """Every purpose with its signals and retention, the choices, and stated preferences;
    the forms send the shopper back to ``next`` (default: this page)."""
    ctx = context_of(template_context)
    return _render(
        template_context,
        "consent/preference_centre.html",
        ctx,
        ctx=ctx,
        next=safe_next(next or ctx.path),
        switch=_switch(ctx),
        # Progressive profiling: preferences are asked for only once they may be kept
        # (under a choice made here: they are bound to its consent id).
        askable=[
            s
            for s in ctx.policy.signals
            if s.choices and ctx.may_use(s.id) and ctx.external is None
        ],
        # "Don't use this" choices, each with a button to switch the signal on again.
        stopped=[s for s in ctx.policy.signals if s.id in ctx.stopped_signals],
    )


def _switch(ctx: PersonalisationContext) -> dict[str, Any] | None:
    """One button between personalised and non-personalised browsing, keeping the rest.

    Offered once a choice exists: before that the three equal buttons are the only choice.
    """
    personal = {SESSION_PERSONALISATION, PERSONALISATION}
    if not ctx.decided or not personal & {p.id for p in ctx.policy.optional}:
        return None
    others = [pid for pid in ctx.granted if pid not in ctx.policy.required_ids]
    # What the choice allows, whether or not this visit is paused.
    if mode_for(ctx.granted) is Mode.NON_PERSONALISED:
        target = PERSONALISATION if PERSONALISATION in ctx.policy else SESSION_PERSONALISATION
        return {"label": N_("Personalise my shopping"), "purposes": sorted([*others, target])}
    kept = sorted(pid for pid in others if pid not in personal)
    return {"label": N_("Browse without personalisation"), "purposes": kept}


@jinja2.pass_context
def personalisation_switch(
    template_context: jinja2.runtime.Context, next: str | None = None
) -> Markup:
    """One click beside the recommendations: "See suggestions without personalisation" for
    this visit (no new consent, nothing recorded), and "Personalise again". Empty when the
    shopper's choice allows no personalisation."""
    ctx = context_of(template_context)
    if mode_for(ctx.granted) is Mode.NON_PERSONALISED:
        return Markup("")
    return _render(
        template_context,
        "consent/switch.html",
        ctx,
        ctx=ctx,
        next=safe_next(next or ctx.path),
        paused=ctx.paused,
    )


@jinja2.pass_context
def privacy_choices_link(template_context: jinja2.runtime.Context) -> Markup:
    """The "Privacy choices" link every page carries, to withdraw as easily as to give."""
    ctx = context_of(template_context)
    return _render(template_context, "consent/link.html", ctx, ctx=ctx)


@jinja2.pass_context
def consent_state_json(template_context: jinja2.runtime.Context) -> Markup:
    """The state as JSON for client code: purposes, mode, GPC; no secrets, no identifiers.

    Safe inside ``<script>``: ``<``, ``>`` and ``&`` are escaped.
    """
    state = context_of(template_context).public_state()
    text = json.dumps(state, separators=(",", ":"))
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


_DEFAULT_CONSENT_MODE = ConsentMode()


@jinja2.pass_context
def consent_mode_script(
    template_context: jinja2.runtime.Context,
    nonce: str | None = None,
    *,
    mode: ConsentMode | None = None,
    mapping: dict[str, Any] | None = None,
    wait_for_update: int | None = None,
    regions: list[str] | tuple[str, ...] = (),
) -> Markup:
    """Google Consent Mode v2 for this request: a ``<script>`` that defines ``dataLayer``
    and ``gtag`` where missing, calls ``gtag('consent', 'default', ...)`` (every key denied
    but ``security_storage``) and, once the visitor has decided, ``'update'`` with the
    states the grants give (GPC included).

    Put it in ``<head>`` before any tag. ``nonce`` is your Content-Security-Policy nonce
    (none when empty);
    ``mapping``, ``wait_for_update`` and ``regions`` are those of :class:`ConsentMode`, or
    give a ready one as ``mode``.
    """
    ctx = context_of(template_context)
    if mode is None:
        if mapping is None and wait_for_update is None and not regions:
            mode = _DEFAULT_CONSENT_MODE
        else:
            wait = 500 if wait_for_update is None else wait_for_update
            mode = ConsentMode(mapping, wait_for_update=wait, regions=regions)
    elif not isinstance(mode, ConsentMode) or mapping or wait_for_update is not None or regions:
        raise ConsentError(
            "consent_mode_script(mode=...) takes a ConsentMode, and then no mapping, "
            "wait_for_update or regions of its own"
        )
    if nonce is not None and not isinstance(nonce, str):
        raise ConsentError("consent_mode_script(nonce=...) takes the page's CSP nonce, a string")
    script = mode.commands(ctx.granted, ctx.policy, decided=ctx.decided)
    opening = f'<script nonce="{escape(nonce)}">' if nonce else "<script>"
    return Markup(f"{opening}{script}</script>")
