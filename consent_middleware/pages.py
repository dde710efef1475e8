"""The built-in pages of the consent endpoints, rendered with autoescaping Jinja2."""

from __future__ import annotations

from typing import Any

import jinja2

from .modes import Mode

__all__ = ["Pages"]

MODE_TEXT = {
    Mode.PERSONALISED: "Personalised: your preferences and earlier visits may shape what you see.",
    Mode.SESSION: "Guest mode: only what you do in this visit may shape what you see.",
    Mode.NON_PERSONALISED: (
        "Not personalised: everyone sees the same shop; none of your data is used."
    ),
}


class Pages:
    """Loads the package's templates once and renders them."""

    def __init__(self) -> None:
        self.environment = jinja2.Environment(
            loader=jinja2.PackageLoader("consent_middleware", "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
        )
        self.environment.globals["mode_text"] = MODE_TEXT

    def render(self, name: str, **context: Any) -> str:
        """Render template ``name`` with ``context``."""
        return self.environment.get_template(name).render(**context)
