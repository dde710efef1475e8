"""The Jinja2 helpers called for a context directly, for other template engines.

Django's ``{% load consent %}`` tags print what these return: the Jinja2 helpers themselves,
each run through a one-line template of the package's own autoescaping environment, so the
markup, the escaping and the rules (the banner only until a choice, preferences asked for
only once they may be kept) are those of ``{{ consent_banner() }}`` and the others.
"""

from __future__ import annotations

from typing import Any

import jinja2
from markupsafe import Markup

from ..core.context import PersonalisationContext
from .pages import Pages

__all__ = [
    "banner",
    "consent_mode_script",
    "personalisation_switch",
    "preference_centre",
    "privacy_choices_link",
    "state_json",
    "why",
]

_pages: Pages | None = None
_templates: dict[str, jinja2.Template] = {}


def _call(source: str, ctx: PersonalisationContext, **values: Any) -> Markup:
    template = _templates.get(source)
    if template is None:
        global _pages
        if _pages is None:
            _pages = Pages()
        template = _templates[source] = _pages.environment.from_string(source)
    # The helpers return Markup, autoescaped: the text is already safe as HTML.
    return Markup(template.render(consent=ctx, **values))


def banner(ctx: PersonalisationContext) -> Markup:
    """``{{ consent_banner() }}``: the first-layer banner, empty once a choice is made."""
    return _call("{{ consent_banner() }}", ctx)


def preference_centre(ctx: PersonalisationContext, next_path: str | None = None) -> Markup:
    """``{{ preference_centre(next) }}``: every purpose, the choices, stated preferences."""
    return _call("{{ preference_centre(next_path) }}", ctx, next_path=next_path)


def privacy_choices_link(ctx: PersonalisationContext) -> Markup:
    """``{{ privacy_choices_link() }}``: the link to the preference page."""
    return _call("{{ privacy_choices_link() }}", ctx)


def state_json(ctx: PersonalisationContext) -> Markup:
    """``{{ consent_state_json() }}``: the public state as JSON, safe inside ``<script>``."""
    return _call("{{ consent_state_json() }}", ctx)


def consent_mode_script(ctx: PersonalisationContext, **options: Any) -> Markup:
    """``{{ consent_mode_script(...) }}``: Google Consent Mode v2's ``default`` and, once
    decided, ``update`` calls; ``options`` are the helper's (``nonce``, ``mapping``,
    ``wait_for_update``, ``regions``, ``mode``)."""
    return _call("{{ consent_mode_script(**options) }}", ctx, options=options)


def why(ctx: PersonalisationContext, item_or_reason: object) -> Markup:
    """``{{ why(item) }}``: the "Why am I seeing this?" disclosure of an item or a reason."""
    return _call("{{ why(item) }}", ctx, item=item_or_reason)


def personalisation_switch(ctx: PersonalisationContext, next_path: str | None = None) -> Markup:
    """``{{ personalisation_switch(next) }}``: suggestions without personalisation for this
    visit, and back; empty when the shopper's choice allows no personalisation."""
    return _call("{{ personalisation_switch(next_path) }}", ctx, next_path=next_path)
