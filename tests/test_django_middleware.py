"""The shared middleware tests (tests/test_middleware.py) through Django: once under
Django's WSGI handler (the middleware runs sync) and once under its ASGI handler (async)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.wsgi import WSGIHandler
from django.test import override_settings

from . import test_middleware
from .conftest import KEY, Driver, DriverFactory, Result, asgi_sender, wsgi_sender
from .django_project import setup

setup()

# Every test of the shared module, collected here again with this module's drivers.
globals().update(
    {name: test for name, test in vars(test_middleware).items() if name.startswith("test_")}
)


Sender = Callable[[str, str, list[tuple[str, str]], bytes], Result]


def stripped(send: Sender) -> Sender:
    """Django's WSGI handler writes every cookie as ``c.output(header="")``, with a leading
    space that clients ignore: taken off, as they do."""

    def strip(method: str, path: str, headers: list[tuple[str, str]], body: bytes) -> Result:
        result = send(method, path, headers, body)
        result.headers = [(name, value.strip()) for name, value in result.headers]
        return result

    return strip


@pytest.fixture(params=["django", "django_async"])
def make_driver(request: pytest.FixtureRequest) -> DriverFactory:
    """A driver for the test project under Django's WSGI or ASGI handler, with the given
    options as ``CONSENT_MIDDLEWARE``."""

    def factory(**options: Any) -> Driver:
        options.setdefault("secret_keys", [KEY])
        secure = options.setdefault("secure", True)
        # The handler loads its middleware now, reading the settings once.
        with override_settings(CONSENT_MIDDLEWARE=options):
            if request.param == "django":
                sender = stripped(wsgi_sender(WSGIHandler()))
            else:
                sender = asgi_sender(ASGIHandler())
        return Driver(request.param, sender, secure)

    return factory
