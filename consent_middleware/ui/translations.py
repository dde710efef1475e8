"""The consent UI's translations: gettext catalogues shipped in ``ui/locale``.

English is the source language; every other language has
``locale/<lang>/LC_MESSAGES/consent_middleware.mo``, compiled from the ``.po`` beside it
(``pybabel compile -d consent_middleware/ui/locale -D consent_middleware``). They are read
with the standard library's :mod:`gettext`, once per process and language.
"""

from __future__ import annotations

import gettext
from collections.abc import Callable
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from ..core.inventory import Signal, SignalScope

__all__ = [
    "DOMAIN",
    "LOCALE_DIR",
    "N_",
    "SOURCE_LANGUAGE",
    "shipped_languages",
    "template_values",
    "translations",
]

DOMAIN = "consent_middleware"
LOCALE_DIR = Path(__file__).parent / "locale"
#: The language the messages are written in; it needs no catalogue.
SOURCE_LANGUAGE = "en"


def N_(message: str) -> str:  # noqa: N802 (gettext's name for "mark, translate later")
    """Mark ``message`` for the catalogue; it is translated where it is shown."""
    return message


@cache
def shipped_languages() -> tuple[str, ...]:
    """The languages the package has a compiled catalogue for, English first."""
    found = sorted(
        path.parent.parent.name
        for path in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.mo")
        if path.is_file()
    )
    return (SOURCE_LANGUAGE, *found)


@cache
def translations(language: str) -> gettext.NullTranslations:
    """The catalogue of ``language`` (a shipped one); English reads the messages as written."""
    if language.lower() == SOURCE_LANGUAGE or language not in shipped_languages():
        return gettext.NullTranslations()
    path = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.mo"
    with path.open("rb") as file:
        return gettext.GNUTranslations(file)


@cache
def template_values(language: str, fallback: str | None = None) -> dict[str, Any]:
    """What the package's templates translate with: ``_``, ``gettext``, ``ngettext`` (as
    Jinja2's newstyle gettext: ``%(name)s`` placeholders filled from keywords, escaped
    when autoescaping is on), ``retention_text``, ``language``, and ``label(item)`` and
    ``description(item)``: a purpose's or a signal's text in ``language``, else in
    ``fallback`` (the shop's first language), else its first."""
    catalogue = translations(language)

    @jinja2.pass_context
    def gettext_(context: jinja2.runtime.Context, message: str, **variables: Any) -> str:
        text = catalogue.gettext(message)
        if context.eval_ctx.autoescape:
            text = Markup(text)
        return text % variables if variables else text

    @jinja2.pass_context
    def ngettext_(
        context: jinja2.runtime.Context, singular: str, plural: str, num: int, **variables: Any
    ) -> str:
        variables.setdefault("num", num)
        text = catalogue.ngettext(singular, plural, num)
        if context.eval_ctx.autoescape:
            text = Markup(text)
        return text % variables

    return {
        "_": gettext_,
        "gettext": gettext_,
        "ngettext": ngettext_,
        "retention_text": retention_texts(language),
        "language": language,
        "label": lambda item: item.label_for(language, fallback),
        "description": lambda item: item.description_for(language, fallback),
    }


@cache
def retention_texts(language: str) -> Callable[[Signal], str]:
    """How long a signal's data is kept, in words of ``language``."""
    catalogue = translations(language)

    def retention_text(signal: Signal) -> str:
        if signal.scope is SignalScope.SESSION:
            return catalogue.gettext("kept for this visit only")
        retention = signal.retention or timedelta(0)
        days = retention.days
        if days >= 1:
            return catalogue.ngettext("kept for %(num)d day", "kept for %(num)d days", days) % {
                "num": days
            }
        hours = max(1, int(retention.total_seconds() // 3600))
        return catalogue.ngettext("kept for %(num)d hour", "kept for %(num)d hours", hours) % {
            "num": hours
        }

    return retention_text
