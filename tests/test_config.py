"""Configuration mistakes fail when the middleware is built, with a message naming the fix."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette

from consent_middleware import (
    ConfigurationError,
    ConsentMiddleware,
    ConsentPolicy,
    ConsentWSGIMiddleware,
    Purpose,
)

from .apps import wsgi_app
from .conftest import KEY

DEFAULT = ConsentPolicy.default()


def _claiming(cookie: str) -> ConsentPolicy:
    return ConsentPolicy(
        [*DEFAULT.purposes, Purpose("greedy", "Greedy", cookies=(cookie,))], version="1"
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param({"secret_keys": []}, "secret_keys is empty", id="no-keys"),
        pytest.param({"secret_keys": ["short"]}, "keys need 32 bytes", id="short-key"),
        pytest.param({"policy": "default"}, "policy must be a ConsentPolicy", id="policy-type"),
        pytest.param({"prefix": "consent"}, "prefix 'consent' is invalid", id="relative-prefix"),
        pytest.param({"prefix": "/consent/"}, "no trailing '/'", id="trailing-slash"),
        pytest.param({"prefix": "/"}, "is invalid", id="root-prefix"),
        pytest.param({"prefix": "/c?x=1"}, "is invalid", id="query-prefix"),
        pytest.param({"prefix": "/a%2Fb"}, "no '%'", id="percent-prefix"),
        pytest.param({"prefix": "/shop/.."}, "'..' segments", id="dot-dot-prefix"),
        pytest.param({"prefix": "/./consent"}, "'..' segments", id="dot-prefix"),
        pytest.param(
            {"prefix": "/.well-known/gpc.json"}, "where the GPC file is served", id="gpc-prefix"
        ),
        pytest.param({"cookie_name": "my consent"}, "not a valid cookie name", id="cookie-name"),
        pytest.param({"cookie_name": "__Host-c"}, "must not carry a __Host-", id="host-prefix"),
        pytest.param({"secure": "yes"}, "secure must be True or False", id="secure-type"),
        pytest.param({"cookie_domains": ".shop.test"}, "not one string", id="domains-str"),
        pytest.param({"cookie_domains": ["shop test"]}, "is not a domain", id="bad-domain"),
        pytest.param(
            {"trusted_origins": ["shop.test"]}, "is not an origin", id="origin-without-scheme"
        ),
        pytest.param(
            {"policy": _claiming("__Host-consent")}, "which keeps the consent", id="claims-cookie"
        ),
        pytest.param(
            {"policy": _claiming("__Host-*")}, "which keeps the consent", id="claims-prefix"
        ),
        pytest.param({"visit_lifetime": 0}, "between one minute and one day", id="visit-zero"),
        pytest.param({"visit_lifetime": -600}, "between one minute", id="visit-negative"),
        pytest.param({"visit_lifetime": 30}, "between one minute", id="visit-seconds-short"),
        pytest.param({"visit_lifetime": timedelta(days=2)}, "and one day", id="visit-two-days"),
        pytest.param({"visit_lifetime": float("nan")}, "between one minute", id="visit-nan"),
        pytest.param({"visit_lifetime": "4h"}, "timedelta or a number", id="visit-text"),
        pytest.param({"visit_lifetime": True}, "timedelta or a number", id="visit-bool"),
    ],
)
@pytest.mark.parametrize("middleware", ["asgi", "wsgi"])
def test_configuration_mistakes_fail_at_start_up(
    middleware: str, options: dict[str, Any], message: str
) -> None:
    options.setdefault("secret_keys", [KEY])
    with pytest.raises(ConfigurationError, match=message):
        if middleware == "asgi":
            ConsentMiddleware(Starlette(), **options)
        else:
            ConsentWSGIMiddleware(wsgi_app, **options)


def test_defaults_are_safe() -> None:
    engine = ConsentMiddleware(Starlette(), secret_keys=[KEY]).engine
    assert engine.secure is True
    assert engine.cookie_name == "__Host-consent"
    assert engine.prefix == "/consent"
    assert engine.policy.version == DEFAULT.version
    assert engine.visit_lifetime == timedelta(hours=4)


@pytest.mark.parametrize(
    ("lifetime", "expected"),
    [
        pytest.param(timedelta(minutes=30), timedelta(minutes=30), id="timedelta"),
        pytest.param(5400, timedelta(minutes=90), id="seconds"),
        pytest.param(86400.0, timedelta(days=1), id="one-day"),
    ],
)
def test_visit_lifetime_is_taken_by_both_middlewares(
    lifetime: timedelta | float, expected: timedelta
) -> None:
    asgi = ConsentMiddleware(Starlette(), secret_keys=[KEY], visit_lifetime=lifetime)
    wsgi = ConsentWSGIMiddleware(wsgi_app, secret_keys=[KEY], visit_lifetime=lifetime)
    assert asgi.engine.visit_lifetime == wsgi.engine.visit_lifetime == expected


def test_trusted_origins_are_normalised() -> None:
    engine = ConsentMiddleware(
        Starlette(), secret_keys=[KEY], trusted_origins=["HTTPS://Shop.Example/"]
    ).engine
    assert engine.trusted_origins == {"https://shop.example"}


def test_server_refuses_to_start_with_a_bad_option(tmp_path: Path) -> None:
    (tmp_path / "bad_shop.py").write_text(
        "from starlette.applications import Starlette\n"
        "from consent_middleware import ConsentMiddleware\n"
        "app = Starlette()\n"
        "app.add_middleware(ConsentMiddleware, secret_keys=['short'])\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "uvicorn", "bad_shop:app", "--app-dir", str(tmp_path)]
        + ["--port", "0", "--lifespan", "on"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "secret_keys[0] is 5 bytes: keys need 32 bytes or more" in result.stderr
    assert "Application startup failed" in result.stderr
