"""Reading a request's consent: the quick way for the usual request gives the same answer
as the general one, whatever the headers hold."""

from __future__ import annotations

import asyncio
import json
import pickle
import time
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consent_middleware import ConsentMiddleware, ConsentPolicy, Mode, get_context
from consent_middleware.core.context import PersonalisationContext, decided_context
from consent_middleware.web.engine import ConsentEngine

from .conftest import KEY, make_cookie

ENGINE = ConsentEngine(secret_keys=[KEY])
NOW = int(time.time())
VALID = make_cookie(("analytics",), decided_at=NOW)
OTHER = make_cookie(("marketing",), decided_at=NOW, consent_id="other-consent-id-0002")
EXPIRED = make_cookie(("analytics",), decided_at=NOW - 400 * 86400)
FUTURE = make_cookie(("analytics",), decided_at=NOW + 3600)
OUTDATED = make_cookie(
    ("analytics",),
    decided_at=NOW,
    policy=ConsentPolicy(ConsentPolicy.default().purposes, version="0"),
)
VALUES = [VALID, OTHER, EXPIRED, FUTURE, OUTDATED, VALID[:-1] + "A", "", "x" * 3000]

cookie_part = st.one_of(
    st.sampled_from([f"__Host-consent={value}" for value in VALUES]),
    st.sampled_from(["cart=abc", "theme=dark", "__Host-consent", " __Host-consent = x", ""]),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=30),
)
cookie_header = st.lists(cookie_part, max_size=5).map("; ".join)


def _seen(ctx: PersonalisationContext) -> tuple[Any, ...]:
    return (ctx.state, ctx.granted, ctx.mode, ctx.gpc, ctx.cookie_header, ctx.consent_path)


@settings(max_examples=300, deadline=None)
@given(
    header=cookie_header,
    gpc=st.sampled_from([(), ("1",), ("0",)]),
    root=st.sampled_from(["", "/shop"]),
)
def test_the_quick_way_answers_as_the_general_one(
    header: str, gpc: tuple[str, ...], root: str
) -> None:
    target = ("/products", b"page=2", False)
    quick = ENGINE.context(header, gpc, root, target)
    general = ENGINE._context(header, gpc, root, target)
    assert _seen(quick) == _seen(general)
    # Asked again, from the remembered header.
    assert _seen(ENGINE.context(header, gpc, root, target)) == _seen(general)


def test_the_quick_way_sets_every_slot_the_general_one_sets() -> None:
    # A slot that __init__ sets and the quick factory forgets fails only where it is read.
    header = f"__Host-consent={VALID}"
    target = ("/products", b"", False)
    general = ENGINE._context(header, (), "", target)
    general.accept_language("de")
    assert general.state is not None
    quick = decided_context(ENGINE.policy, general.state, ENGINE, header, "/consent", target, "de")
    slots = PersonalisationContext.__slots__
    assert [s for s in slots if hasattr(quick, s)] == [s for s in slots if hasattr(general, s)]
    assert quick.stopped_signals == general.stopped_signals == frozenset()
    assert quick.paused is general.paused is False
    assert quick.csrf_token == quick.csrf_token  # kept once made


def test_an_expired_cookie_remembered_while_valid_is_refused_once_it_expires(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    engine = ConsentEngine(secret_keys=[KEY])
    header = f"__Host-consent={VALID}"
    assert engine.context(header, (), "", ("/", b"", False)).state is not None
    lifetime = ConsentPolicy.default().consent_lifetime.total_seconds()
    monkeypatch.setattr(time, "time", lambda: NOW + lifetime + 1)
    assert engine.context(header, (), "", ("/", b"", False)).state is None


def test_headers_are_remembered_only_up_to_a_size_and_a_number() -> None:
    engine = ConsentEngine(secret_keys=[KEY])
    long_header = "pad=" + "p" * 4000 + f"; __Host-consent={VALID}"
    assert engine.context(long_header, (), "", ("/", b"", False)).state is not None
    assert engine._known.cache_info().currsize == 0
    for n in range(1100):
        engine.context(f"n={n}; __Host-consent={VALID}", (), "", ("/", b"", False))
    assert engine._known.cache_info().currsize == 1024


def _asgi_decided(headers: Any) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        ctx = scope["consent"]
        seen.update(decided=ctx.decided, gpc=ctx.gpc)
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def receive() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        return None

    scope = {"type": "http", "method": "GET", "path": "/", "headers": headers}
    asyncio.run(ConsentMiddleware(inner, secret_keys=[KEY])(scope, receive, send))
    return seen


def _headers() -> Iterator[tuple[bytes, bytes]]:
    yield (b"accept", b"text/html")
    yield (b"cookie", f"__Host-consent={VALID}".encode())
    yield (b"sec-gpc", b"1")


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param(list(_headers()), id="list"),
        pytest.param(tuple(_headers()), id="tuple"),
        pytest.param(_headers(), id="generator"),
        pytest.param([[name, value] for name, value in _headers()], id="lists"),
        pytest.param([(b"accept", b"a"), (b"accept", b"b"), *_headers()], id="repeated-name"),
    ],
)
def test_any_iterable_of_headers_is_read(headers: Any) -> None:
    assert _asgi_decided(headers) == {"decided": True, "gpc": True}


def test_mode_values_are_plain_strings() -> None:
    assert [mode.value for mode in Mode] == ["personalised", "session", "non_personalised"]
    assert Mode("session") is Mode.SESSION
    assert pickle.loads(pickle.dumps(Mode.SESSION)) is Mode.SESSION
    assert json.dumps({"mode": Mode.PERSONALISED}) == '{"mode": "personalised"}'
    assert f"{Mode.SESSION.value}!" == "session!"


def test_get_context_finds_a_context_of_a_subclass() -> None:
    class Shop(PersonalisationContext):
        __slots__ = ()

    ctx = Shop(ConsentPolicy.default())
    assert get_context({"consent": ctx}) is ctx
    assert get_context({"consent_middleware.context": ctx}) is ctx
