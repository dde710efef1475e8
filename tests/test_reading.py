"""Reading a request's consent: the quick way for the usual request gives the same answer
as the general one, whatever the headers hold."""

from __future__ import annotations

import json
import pickle
import time
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from consent_middleware import ConsentMiddleware, ConsentPolicy, Mode, get_context
from consent_middleware.core.context import PersonalisationContext, decided_context
from consent_middleware.core.modes import mode_for
from consent_middleware.web.engine import ConsentEngine

from .apps import asgi_context
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
PERSONAL = make_cookie(("personalisation",), decided_at=NOW, consent_id="personal-consent-id-03")
VALUES = [VALID, PERSONAL, OTHER, EXPIRED, FUTURE, OUTDATED, VALID[:-1] + "A", "", "x" * 3000]

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


@pytest.mark.parametrize("mode_given", [False, True], ids=["mode-unknown", "mode-given"])
def test_the_quick_way_sets_every_attribute_the_general_one_sets(mode_given: bool) -> None:
    # An attribute that __init__ sets and the quick factory forgets fails only where it is
    # read; one that has a class default is read from there until set.
    header = f"__Host-consent={VALID}"
    target = ("/products", b"", False)
    general = ENGINE._context(header, (), "", target)
    general.accept_language("de")
    assert general.state is not None
    mode = mode_for(general.state.granted) if mode_given else None
    known = (general.state, 0.0, float("inf"), header, mode)
    quick = decided_context(known, ENGINE, target, "de")
    assert vars(quick) == vars(general) == {}
    defaults = [
        name
        for name, value in vars(PersonalisationContext).items()
        if not name.startswith("__") and not callable(value) and not hasattr(value, "__get__")
    ]
    assert "must_write" not in defaults and "gpc" in defaults
    names = [*PersonalisationContext.__slots__, *defaults]
    assert [n for n in names if hasattr(quick, n)] == [n for n in names if hasattr(general, n)]
    assert _seen(quick) == _seen(general)
    assert quick.language == general.language
    assert quick.stopped_signals == general.stopped_signals == frozenset()
    assert quick.paused is general.paused is False
    assert quick.csrf_token == quick.csrf_token  # kept once made


ASGI = ConsentMiddleware(None, secret_keys=[KEY])
PAUSE = "__Host-consent_pause=1"


@settings(max_examples=300, deadline=None)
@given(
    header=st.one_of(cookie_header, cookie_header.map(lambda h: f"{h}; {PAUSE}")),
    gpc=st.sampled_from([(), ("1",), ("0",)]),
    root=st.sampled_from(["", "/shop"]),
    second=st.sampled_from([None, "cart=abc", f"__Host-consent={OTHER}"]),
)
@example(header=f"__Host-consent={PERSONAL}; {PAUSE}", gpc=(), root="", second=None)
@example(header=f"__Host-consent={PERSONAL}", gpc=(), root="", second=None)
@example(header=f"__Host-consent={PERSONAL}", gpc=("1",), root="", second=None)
def test_the_asgi_quick_way_answers_as_the_general_one(
    header: str, gpc: tuple[str, ...], root: str, second: str | None
) -> None:
    # The ASGI adapter remembers raw Cookie headers itself: what it gives the app must be
    # what the general way reads from the same request, the first time and from memory.
    headers = [(b"cookie", header.encode("latin-1"))]
    headers += [(b"sec-gpc", value.encode()) for value in gpc]
    if second is not None:
        headers.append((b"cookie", second.encode()))
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/products",
        "query_string": b"page=2",
        "root_path": root,
        "headers": headers,
    }
    joined = header if second is None else f"{header}; {second}"
    general = ENGINE._context(joined, gpc, root, ("/products", b"page=2", False))
    for _ in range(2):
        ctx = asgi_context(ASGI, dict(scope))
        assert _seen(ctx) == _seen(general)
        assert ctx.paused is general.paused
        assert ctx.path.endswith("/products?page=2")


def test_the_asgi_quick_way_refuses_a_remembered_cookie_once_it_expires(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    middleware = ConsentMiddleware(None, secret_keys=[KEY])
    scope = {
        "type": "http",
        "path": "/",
        "headers": [(b"cookie", f"__Host-consent={VALID}".encode())],
    }
    assert asgi_context(middleware, dict(scope)).state is not None
    assert len(middleware.engine.remembered) == 1
    lifetime = ConsentPolicy.default().consent_lifetime.total_seconds()
    monkeypatch.setattr("consent_middleware.web.asgi.time", lambda: NOW + lifetime + 1)
    monkeypatch.setattr(time, "time", lambda: NOW + lifetime + 1)
    assert asgi_context(middleware, dict(scope)).state is None


def test_the_asgi_quick_way_remembers_only_up_to_a_size_and_a_number() -> None:
    middleware = ConsentMiddleware(None, secret_keys=[KEY])
    remembered = middleware.engine.remembered
    long_header = f"pad={'p' * 4000}; __Host-consent={VALID}".encode()
    scope = {"type": "http", "path": "/", "headers": [(b"cookie", long_header)]}
    assert asgi_context(middleware, scope).state is not None
    assert remembered == {}
    for n in range(1100):
        header = f"n={n}; __Host-consent={VALID}".encode()
        scope = {"type": "http", "path": "/", "headers": [(b"cookie", header)]}
        assert asgi_context(middleware, scope).state is not None
    # The oldest went first.
    assert len(remembered) == 1024
    assert b"n=0; " not in b"".join(remembered)
    assert next(iter(remembered)).startswith(b"n=76; ")


def test_a_ledger_that_may_replace_a_cookie_leaves_nothing_to_remember(tmp_path: Any) -> None:
    middleware = ConsentMiddleware(
        None, secret_keys=[KEY], ledger=f"sqlite:///{tmp_path}/c.db", enforce_withdrawal=True
    )
    try:
        assert middleware.engine.cookie_decides is False
        header = f"__Host-consent={VALID}".encode()
        scope = {"type": "http", "path": "/", "headers": [(b"cookie", header)]}
        assert asgi_context(middleware, scope).state is not None
        assert middleware.engine.remembered == {}
    finally:
        middleware.close()


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
    scope = {"type": "http", "method": "GET", "path": "/", "headers": headers}
    ctx = asgi_context(ConsentMiddleware(None, secret_keys=[KEY]), scope)
    return {"decided": ctx.decided, "gpc": ctx.gpc}


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
