"""``{% load consent %}``: the Jinja2 helpers as Django template tags.

``{% consent "analytics" %}...{% else %}...{% endconsent %}`` gates markup on the server;
``{% why item %}``, ``{% consent_banner %}``, ``{% preference_centre %}``,
``{% privacy_choices_link %}``, ``{% consent_state_json %}``, ``{% consent_mode_script %}``
and ``{% personalisation_switch %}``
print what the Jinja2 helpers of the same names print, from the same templates, escaped the
same way. The tags find the request's context in a ``consent`` variable, else on
``request.consent`` (Django's ``render(request, ...)`` provides ``request``).

They print in the language Django has activated for the request when
``django.middleware.locale.LocaleMiddleware`` is installed (looked up among the
``languages`` option), else in the one the request's ``Accept-Language`` prefers; a
language the host set on the context (``request.consent.language = "de"``) comes first.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.conf import settings
from django.template.base import FilterExpression, NodeList, Parser, Token
from django.utils import translation
from django.utils.safestring import SafeString, mark_safe

from ...core.context import PersonalisationContext
from ...core.exceptions import MiddlewareNotInstalled
from ...ui import render

register = template.Library()


def consent_of(context: template.Context) -> PersonalisationContext:
    """The consent context of the request a template is rendered for."""
    request = getattr(context, "request", None) or context.get("request")
    explicit = context.get("consent")
    if isinstance(explicit, PersonalisationContext):
        return _with_language(explicit, request)
    found = getattr(request, "consent", None)
    if isinstance(found, PersonalisationContext):
        return _with_language(found, request)
    raise MiddlewareNotInstalled(
        "no consent context in this template: add 'consent_middleware.django."
        "ConsentMiddleware' to MIDDLEWARE and render with the request (render(request, ...)), "
        "or pass consent=request.consent"
    )


_LOCALE_MIDDLEWARE = "django.middleware.locale.LocaleMiddleware"


def _with_language(ctx: PersonalisationContext, request: Any) -> PersonalisationContext:
    """``ctx``, told which languages the shopper accepts (read if the UI is shown)."""
    if _LOCALE_MIDDLEWARE in getattr(settings, "MIDDLEWARE", ()):
        # Django has chosen already (URL prefix, cookie, Accept-Language): follow it.
        ctx.accept_language(translation.get_language())
    elif request is not None:
        ctx.accept_language(request.META.get("HTTP_ACCEPT_LANGUAGE"))
    return ctx


class ConsentNode(template.Node):
    """The body of ``{% consent %}`` when the purpose is granted, else its ``{% else %}``."""

    def __init__(self, purpose: FilterExpression, granted: NodeList, refused: NodeList) -> None:
        self.purpose = purpose
        self.granted = granted
        self.refused = refused

    def render(self, context: template.Context) -> SafeString:
        allowed = consent_of(context).allows(self.purpose.resolve(context))
        rendered: SafeString = (self.granted if allowed else self.refused).render(context)
        return rendered


@register.tag("consent")
def consent_tag(parser: Parser, token: Token) -> ConsentNode:
    """``{% consent "purpose" %}...{% else %}...{% endconsent %}``."""
    bits = token.split_contents()
    if len(bits) != 2:
        raise template.TemplateSyntaxError(
            f"'{bits[0]}' takes one purpose id: "
            '{% consent "analytics" %}...{% else %}...{% endconsent %}'
        )
    purpose = parser.compile_filter(bits[1])
    granted = parser.parse(("else", "endconsent"))
    closing = parser.next_token()
    refused = NodeList()
    if closing.contents == "else":
        refused = parser.parse(("endconsent",))
        closing = parser.next_token()
    if closing.contents != "endconsent":
        raise template.TemplateSyntaxError(
            f"'{closing.contents}' in {{% consent %}}: use a bare {{% else %}} and "
            "{% endconsent %}"
        )
    return ConsentNode(purpose, granted, refused)


def _safe(html: str) -> SafeString:
    # The helpers' output is autoescaped Jinja2 markup.
    return mark_safe(str(html))  # noqa: S308


@register.simple_tag(takes_context=True)
def why(context: template.Context, item: Any) -> SafeString:
    """``{% why item %}``: "Why am I seeing this?" for an item with a ``reason``, or a
    ``Reason``."""
    return _safe(render.why(consent_of(context), item))


@register.simple_tag(takes_context=True)
def consent_banner(context: template.Context) -> SafeString:
    """``{% consent_banner %}``: the first-layer banner, until a choice is made."""
    return _safe(render.banner(consent_of(context)))


@register.simple_tag(takes_context=True)
def preference_centre(context: template.Context, next: str | None = None) -> SafeString:
    """``{% preference_centre %}`` (or ``{% preference_centre "/basket" %}``): every
    purpose, the choices and stated preferences; the forms come back to ``next``."""
    return _safe(render.preference_centre(consent_of(context), next))


@register.simple_tag(takes_context=True)
def privacy_choices_link(context: template.Context) -> SafeString:
    """``{% privacy_choices_link %}``: the "Privacy choices" link for every page."""
    return _safe(render.privacy_choices_link(consent_of(context)))


@register.simple_tag(takes_context=True)
def consent_state_json(context: template.Context) -> SafeString:
    """``{% consent_state_json %}``: the public state for client code, safe in
    ``<script>``."""
    return _safe(render.state_json(consent_of(context)))


@register.simple_tag(takes_context=True)
def consent_mode_script(context: template.Context, **options: Any) -> SafeString:
    """``{% consent_mode_script %}`` (or ``{% consent_mode_script nonce=request.csp_nonce
    wait_for_update=800 %}``): Google Consent Mode v2's ``default`` call and, once the
    visitor has decided, its ``update``, in a ``<script>``; put it in ``<head>`` before any
    tag. Takes the Jinja2 helper's keywords: ``nonce``, ``mapping``, ``wait_for_update``,
    ``regions``, ``mode``."""
    return _safe(render.consent_mode_script(consent_of(context), **options))


@register.simple_tag(takes_context=True)
def personalisation_switch(context: template.Context, next: str | None = None) -> SafeString:
    """``{% personalisation_switch %}`` (or ``{% personalisation_switch "/basket" %}``): beside
    the recommendations, suggestions without personalisation for this visit, and back."""
    return _safe(render.personalisation_switch(consent_of(context), next))
