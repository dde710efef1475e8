"""The built-in pages of the consent endpoints, rendered with autoescaping Jinja2."""

from __future__ import annotations

from typing import Any

import jinja2

from .jinja import install

__all__ = ["Pages"]


class Pages:
    """Loads the package's templates once and renders them."""

    def __init__(self) -> None:
        self.environment = install(
            jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
        )

    def render(self, name: str, **context: Any) -> str:
        """Render template ``name`` with ``context``."""
        return self.environment.get_template(name).render(**context)
