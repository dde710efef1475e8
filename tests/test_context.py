from __future__ import annotations

from typing import Any

import pytest
import webob
from flask import Flask
from starlette.requests import Request
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request as WerkzeugRequest

from consent_middleware import (
    ENVIRON_KEY,
    SCOPE_KEY,
    ConsentError,
    ConsentPolicy,
    MiddlewareNotInstalled,
    Mode,
    PersonalisationContext,
    get_context,
)
from consent_middleware.core.codec import ConsentState

POLICY = ConsentPolicy.default()


def ctx_for(*granted: str, gpc: bool = False) -> PersonalisationContext:
    state = ConsentState("c" * 22, POLICY.grant(granted), 0)
    return PersonalisationContext(POLICY, state, gpc=gpc)


@pytest.mark.parametrize(
    ("granted", "mode"),
    [
        pytest.param(("personalisation",), Mode.PERSONALISED, id="personalised"),
        pytest.param(("session_personalisation",), Mode.SESSION, id="guest"),
        pytest.param(("analytics", "marketing"), Mode.NON_PERSONALISED, id="no-personalisation"),
        pytest.param((), Mode.NON_PERSONALISED, id="rejected"),
    ],
)
def test_mode_follows_granted_purposes(granted: tuple[str, ...], mode: Mode) -> None:
    ctx = ctx_for(*granted)
    assert ctx.mode is mode
    assert ctx.decided
    assert ctx.allows("necessary")


def test_mode_is_a_str_enum_with_the_contract_values() -> None:
    assert [m.value for m in Mode] == ["personalised", "session", "non_personalised"]
    assert Mode.SESSION == "session"


def test_undecided_context_allows_only_required() -> None:
    ctx = PersonalisationContext(POLICY)
    assert not ctx.decided
    assert ctx.mode is Mode.NON_PERSONALISED
    assert ctx.granted == {"necessary"}
    assert ctx.consent_id is None
    assert not ctx.allows("analytics")


def test_gpc_switches_marketing_off_and_nothing_else() -> None:
    ctx = ctx_for("personalisation", "analytics", "marketing", gpc=True)
    assert ctx.gpc
    assert not ctx.allows("marketing")
    assert ctx.allows("analytics")
    assert ctx.mode is Mode.PERSONALISED


def test_unknown_purpose_is_a_programming_error() -> None:
    with pytest.raises(ConsentError, match="unknown purpose 'analytic'"):
        ctx_for("analytics").allows("analytic")


def test_csrf_token_needs_the_middleware() -> None:
    with pytest.raises(MiddlewareNotInstalled, match="not made by the consent middleware"):
        _ = PersonalisationContext(POLICY).csrf_token


def _environ() -> dict[str, Any]:
    environ = EnvironBuilder(path="/").get_environ()
    environ[ENVIRON_KEY] = ctx_for("analytics")
    return environ


def test_get_context_from_every_request_kind() -> None:
    ctx = ctx_for("analytics")
    scope: dict[str, Any] = {"type": "http", "headers": [], SCOPE_KEY: ctx}
    assert get_context(scope) is ctx
    assert get_context(Request(scope)) is ctx
    environ = _environ()
    expected = environ[ENVIRON_KEY]
    assert get_context(environ) is expected
    assert get_context(WerkzeugRequest(environ)) is expected
    assert get_context(webob.Request(environ)) is expected
    app = Flask(__name__)
    with app.request_context(environ):
        from flask import request

        assert get_context(request) is expected


@pytest.mark.parametrize(
    "request_like",
    [
        pytest.param({"type": "http", "headers": []}, id="scope"),
        pytest.param(EnvironBuilder(path="/").get_environ(), id="environ"),
        pytest.param({"consent": "something else"}, id="foreign-value"),
        pytest.param(object(), id="object"),
        pytest.param(None, id="none"),
    ],
)
def test_get_context_without_middleware_says_so(request_like: Any) -> None:
    with pytest.raises(MiddlewareNotInstalled, match="wrap the app with ConsentMiddleware"):
        get_context(request_like)
