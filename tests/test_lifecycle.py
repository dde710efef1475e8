"""Closing the middleware: at the end of the ASGI lifespan, by hand, and what it answers after."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from consent_middleware import ConsentMiddleware, ConsentWSGIMiddleware
from consent_middleware.ledger.sqlite import SQLiteLedger
from consent_middleware.web.middleware import MiddlewareBase

from .apps import starlette_app, wsgi_app
from .conftest import KEY, ORIGIN, Driver, asgi_sender, wsgi_sender
from .test_durability import forget

Message = dict[str, Any]


def drive_lifespan(app: Any, messages: list[Message], sent: list[Message]) -> None:
    """Run one lifespan by hand: the server's ``messages`` in, what the app sends out."""

    async def receive() -> Message:
        return messages.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, receive, send))


def ledger_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/ledger.db"


def choices_in(tmp_path: Path) -> list[str]:
    ledger = SQLiteLedger(tmp_path / "ledger.db")
    try:
        return [event.kind for event in ledger.events()]
    finally:
        ledger.close()


@contextlib.asynccontextmanager
async def serving(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A client for ``app`` inside one lifespan, as a server runs it."""
    to_app: asyncio.Queue[Message] = asyncio.Queue()
    from_app: asyncio.Queue[Message] = asyncio.Queue()
    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    task = asyncio.create_task(app(scope, to_app.get, from_app.put))
    await to_app.put({"type": "lifespan.startup"})
    assert (await from_app.get())["type"] == "lifespan.startup.complete"
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=ORIGIN) as client:
        yield client
    await to_app.put({"type": "lifespan.shutdown"})
    assert (await from_app.get())["type"] == "lifespan.shutdown.complete"
    await task


async def accept_all(client: httpx.AsyncClient) -> int:
    page = await client.get("/consent")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    response = await client.post(
        "/consent",
        data={"action": "accept_all", "csrf_token": token},
        headers={"Origin": ORIGIN},
    )
    return response.status_code


def test_the_end_of_the_lifespan_closes_the_middleware(tmp_path: Path) -> None:
    app = ConsentMiddleware(starlette_app(), secret_keys=[KEY], ledger=ledger_url(tmp_path))
    threads: list[Any] = []

    async def go() -> None:
        async with serving(app) as client:
            assert await accept_all(client) == 303
            recorder = app.engine.recorder
            assert recorder is not None and not app.engine.closed
            threads.extend([recorder._thread, recorder._committer])
            assert any(thread is not None and thread.is_alive() for thread in threads)

    asyncio.run(go())
    assert app.engine.closed
    assert not any(thread is not None and thread.is_alive() for thread in threads)
    assert choices_in(tmp_path) == ["given"]
    assert list((tmp_path / "ledger.db-spool").iterdir()) == []  # its empty journal is gone


def test_add_middleware_closes_at_the_end_of_the_lifespan(tmp_path: Path) -> None:
    shop = Starlette()
    shop.add_middleware(ConsentMiddleware, secret_keys=[KEY], ledger=ledger_url(tmp_path))

    async def go() -> ConsentMiddleware:
        async with serving(shop) as client:
            await client.get("/consent")
            layer: Any = shop.middleware_stack
            while not isinstance(layer, ConsentMiddleware):
                layer = layer.app
            assert not layer.engine.closed
        return layer

    assert asyncio.run(go()).engine.closed


def test_lifespan_messages_pass_through_and_close_comes_before_shutdown_complete(
    tmp_path: Path,
) -> None:
    received: list[Message] = []
    closed_when_told: list[bool] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        for answer in ("lifespan.startup.complete", "lifespan.shutdown.complete"):
            received.append(await receive())
            await send({"type": answer, "extra": answer})

    app = ConsentMiddleware(inner, secret_keys=[KEY], ledger=ledger_url(tmp_path))
    startup, shutdown = {"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}
    sent: list[Message] = []

    async def receive() -> Message:
        return [startup, shutdown][len(received)]

    async def send(message: Message) -> None:
        closed_when_told.append(app.engine.closed)
        sent.append(message)

    asyncio.run(app({"type": "lifespan", "state": {}}, receive, send))
    assert received[0] is startup and received[1] is shutdown
    assert sent == [
        {"type": "lifespan.startup.complete", "extra": "lifespan.startup.complete"},
        {"type": "lifespan.shutdown.complete", "extra": "lifespan.shutdown.complete"},
    ]
    assert closed_when_told == [False, True]


def test_a_failed_shutdown_closes_too(tmp_path: Path) -> None:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        raise RuntimeError("the app's own shutdown failed")

    app = ConsentMiddleware(
        Starlette(lifespan=lifespan), secret_keys=[KEY], ledger=ledger_url(tmp_path)
    )
    sent: list[Message] = []
    with pytest.raises(RuntimeError, match="shutdown failed"):
        drive_lifespan(app, [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}], sent)
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.failed"]
    assert app.engine.closed


def test_an_app_without_lifespan_support_keeps_working(tmp_path: Path) -> None:
    async def http_only(scope: Any, receive: Any, send: Any) -> None:
        assert scope["type"] == "http", "lifespan is not supported"
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    app = ConsentMiddleware(http_only, secret_keys=[KEY], ledger=ledger_url(tmp_path))
    # The server sees the app's own refusal, as without the middleware, and goes on.
    with pytest.raises(AssertionError, match="lifespan is not supported"):
        drive_lifespan(app, [{"type": "lifespan.startup"}], [])
    assert not app.engine.closed
    assert Driver("asgi", asgi_sender(app), True).get("/").status == 204


def test_a_new_lifespan_opens_the_middleware_again(tmp_path: Path) -> None:
    app = ConsentMiddleware(starlette_app(), secret_keys=[KEY], ledger=ledger_url(tmp_path))

    async def one_lifespan() -> int:
        async with serving(app) as client:
            return await accept_all(client)

    for _ in range(2):
        assert asyncio.run(one_lifespan()) == 303
        assert app.engine.closed
    assert choices_in(tmp_path) == ["given", "given"]


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
def test_close_is_safe_twice_and_before_any_request(kind: str, tmp_path: Path) -> None:
    middleware: MiddlewareBase[Any]
    if kind == "asgi":
        middleware = ConsentMiddleware(
            starlette_app(), secret_keys=[KEY], ledger=ledger_url(tmp_path)
        )
    else:
        middleware = ConsentWSGIMiddleware(wsgi_app, secret_keys=[KEY], ledger=ledger_url(tmp_path))
    middleware.close()
    middleware.close()
    assert middleware.engine.closed
    without_ledger = ConsentWSGIMiddleware(wsgi_app, secret_keys=[KEY])
    without_ledger.close()
    without_ledger.close()


def test_a_host_ledger_object_is_left_open(tmp_path: Path) -> None:
    class Counting(SQLiteLedger):
        closes = 0

        def close(self) -> None:
            Counting.closes += 1
            super().close()

    ledger = Counting(tmp_path / "host.db")
    Counting.closes = 0  # it closes its first connection itself
    ConsentWSGIMiddleware(wsgi_app, secret_keys=[KEY], ledger=ledger).close()
    assert Counting.closes == 0
    owned = ConsentWSGIMiddleware(wsgi_app, secret_keys=[KEY], ledger=ledger_url(tmp_path))
    owned.close()
    assert owned.engine.recorder is not None
    assert owned.engine.recorder.ledger._idle == []  # type: ignore[attr-defined]


@dataclass
class Closed:
    """A shop whose middleware was closed after one choice was recorded."""

    driver: Driver
    middleware: MiddlewareBase[Any]
    #: The consent cookie of that choice (accept all).
    accepted: str


@pytest.fixture(params=["asgi", "wsgi"])
def closed(request: pytest.FixtureRequest, tmp_path: Path) -> Closed:
    options: dict[str, Any] = {"secret_keys": [KEY], "ledger": ledger_url(tmp_path)}
    if request.param == "asgi":
        asgi = ConsentMiddleware(starlette_app(), **options)
        middleware: MiddlewareBase[Any] = asgi
        driver = Driver("asgi", asgi_sender(asgi), True)
    else:
        wsgi = ConsentWSGIMiddleware(wsgi_app, **options)
        middleware = wsgi
        driver = Driver("wsgi", wsgi_sender(wsgi), True)
    accepted = driver.decide("accept_all")
    middleware.close()
    return Closed(driver, middleware, accepted)


def test_after_close_a_grant_is_answered_as_not_saved(closed: Closed, tmp_path: Path) -> None:
    driver = closed.driver
    result = driver.post_form([("action", "accept_all")])
    assert result.status == 503
    assert result.header("Retry-After") == "5"
    assert result.cookie(driver.cookie_name) is None
    assert choices_in(tmp_path) == ["given"]


def test_after_close_a_withdrawal_takes_effect_and_is_logged(
    closed: Closed, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    driver = closed.driver
    with caplog.at_level(logging.ERROR, logger="consent_middleware"):
        refused = driver.decide("reject_all", cookies={driver.cookie_name: closed.accepted})
    assert driver.mode(refused)["mode"] == "non_personalised"
    (logged,) = [r.getMessage() for r in caplog.records if "after shutdown" in r.getMessage()]
    assert json.loads(logged.partition(": ")[2])["kind"] == "withdrawn"
    assert choices_in(tmp_path) == ["given"]


def test_after_close_pages_are_served_and_the_history_is_said_to_be_unreadable(
    closed: Closed,
) -> None:
    driver = closed.driver
    assert driver.get("/consent").status == 200
    assert driver.get("/consent/state").status == 200
    download = driver.get("/consent/data", cookies={driver.cookie_name: closed.accepted})
    assert download.status == 200
    assert "could not be read just now" in json.loads(download.text)["history_note"]


def test_after_close_erasure_asks_to_retry(closed: Closed) -> None:
    driver = closed.driver
    result = forget(driver, {driver.cookie_name: closed.accepted})
    assert result.status == 503
    assert result.header("Retry-After") == "5"
    assert result.set_cookies == []
