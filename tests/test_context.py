from __future__ import annotations

from pathlib import Path
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


READS = [
    pytest.param(lambda c: c.mode, False, id="mode"),
    pytest.param(lambda c: c.granted, False, id="granted"),
    pytest.param(lambda c: c.decided, False, id="decided"),
    pytest.param(lambda c: c.source, False, id="source"),
    pytest.param(lambda c: c.allows("analytics"), False, id="allows"),
    pytest.param(lambda c: c.may_use("viewed_products"), False, id="may_use"),
    pytest.param(lambda c: c.consent_id, True, id="consent_id"),
    pytest.param(lambda c: c.public_state(), True, id="public_state"),
    pytest.param(lambda c: c.use("viewed_products"), True, id="use"),
    pytest.param(lambda c: c.reason("viewed_products"), True, id="reason"),
]


SHOP_POLICY = ConsentPolicy.from_toml(Path(__file__).parent.parent / "examples" / "policy.toml")


@pytest.mark.parametrize(("read", "personal"), READS)
def test_reading_the_consent_varies_the_response_and_writes_nothing(
    read: Any, personal: bool
) -> None:
    state = ConsentState("c" * 22, SHOP_POLICY.grant(["personalisation"]), 0)
    ctx = PersonalisationContext(SHOP_POLICY, state)
    assert (ctx.varies, ctx.personal, ctx.must_write) == (False, False, False)
    read(ctx)
    assert (ctx.varies, ctx.personal, ctx.must_write) == (True, personal, False)


def test_what_is_not_the_consent_leaves_the_response_alone() -> None:
    ctx = ctx_for("personalisation")
    _ = ctx.gpc, ctx.path, ctx.consent_path, ctx.change_url(), ctx.general_reason()
    _ = ctx.cookie_header, ctx.sent_cookies("a"), ctx.gpc_withdrawal, repr(ctx)
    assert (ctx.varies, ctx.personal, ctx.must_write) == (False, False, False)


def test_a_gpc_withdrawal_must_be_written_even_if_the_page_reads_nothing() -> None:
    ctx = ctx_for("personalisation", "marketing", gpc=True)
    assert ctx.must_write and not ctx.varies
    withdrawn = ctx.gpc_withdrawal
    assert withdrawn is not None
    assert withdrawn.granted == POLICY.grant(["personalisation"])
    assert withdrawn.consent_id == "c" * 22
    for quiet in (ctx_for("personalisation", gpc=True), ctx_for("marketing")):
        assert quiet.gpc_withdrawal is None
        assert not quiet.must_write
    assert PersonalisationContext(POLICY, gpc=True).gpc_withdrawal is None


def test_sent_cookies_keeps_every_value_in_order() -> None:
    ctx = PersonalisationContext(POLICY, cookie_header="a=1; b=2; a=3; c")
    assert ctx.cookie_header == "a=1; b=2; a=3; c"
    assert ctx.sent_cookies("a") == ["1", "3"]
    assert ctx.sent_cookies("b") == ["2"]
    assert ctx.sent_cookies("c") == []
