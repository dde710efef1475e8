"""The built-in pages of the consent endpoints, rendered with autoescaping Jinja2."""

from __future__ import annotations

from typing import Any

import jinja2

from .jinja import install
from .translations import SOURCE_LANGUAGE, template_values, translations

__all__ = ["Pages"]


class Pages:
    """Loads the package's templates once and renders them, in the language asked for."""

    def __init__(self) -> None:
        self.environment = install(
            jinja2.Environment(
                autoescape=True,
                undefined=jinja2.StrictUndefined,
                extensions=["jinja2.ext.i18n"],
            )
        )
        # Newstyle gettext, escaping kept; each render gives its own language's callables.
        self.environment.install_gettext_translations(  # type: ignore[attr-defined]
            translations(SOURCE_LANGUAGE), newstyle=True
        )

    def render(self, name: str, language: str = SOURCE_LANGUAGE, **context: Any) -> str:
        """Render template ``name`` with ``context``, its texts in ``language``.

        The policy's texts that ``language`` lacks are shown in the shop's first language,
        read from the request's context (``ctx``) when the page has one.
        """
        ctx = context.get("ctx")
        fallback = None if ctx is None else ctx.languages[0]
        values = {**template_values(language, fallback), **context}
        return self.environment.get_template(name).render(**values)
