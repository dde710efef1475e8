"""A shopper's browser for an ASGI or a WSGI app: the same steps, whichever the app is."""

from __future__ import annotations

import asyncio
import html
import inspect
import re
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import httpx
import webtest


@dataclass(frozen=True)
class Page:
    """One answer: its status, headers (lower-case names) and body."""

    status: int
    headers: dict[str, str]
    text: str

    @property
    def location(self) -> str:
        return self.headers.get("location", "")

    def local_assets(self) -> list[str]:
        """The scripts, styles and images of this site that the page loads."""
        found = re.findall(r'<(?:script|img)\b[^>]*\bsrc="([^"]+)"', self.text)
        found += re.findall(r'<link\b[^>]*\bhref="([^"]+)"', self.text)
        return [html.unescape(url) for url in found if url.startswith("/")]


def is_asgi(app: Any) -> bool:
    """An ASGI app is a coroutine function, or an object whose ``__call__`` is one."""
    return inspect.iscoroutinefunction(app) or inspect.iscoroutinefunction(type(app).__call__)


class Shopper:
    """A browser with a cookie jar, over httpx's ASGI transport or WebTest (WSGI).

    An ASGI app gets its lifespan's start-up and shutdown around the visit, as uvicorn
    gives it. No answer may be a 5xx: every request checks it.
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self.asgi = is_asgi(app)
        if self.asgi:
            self.origin = "http://127.0.0.1"
            self._runner = asyncio.Runner()
            transport = httpx.ASGITransport(app=app)
            self._client: Any = httpx.AsyncClient(transport=transport, base_url=self.origin)
        else:
            self.origin = "http://localhost"
            self._client = webtest.TestApp(app)

    def __enter__(self) -> Shopper:
        if self.asgi:
            self._lifespan = Lifespan(self.app)
            self._runner.run(self._lifespan.start())
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self.asgi:
            self._runner.run(self._client.aclose())
            self._runner.run(self._lifespan.stop())
            self._runner.close()

    def get(self, path: str) -> Page:
        if self.asgi:
            answer = self._runner.run(self._client.get(path))
            page = Page(answer.status_code, dict(answer.headers), answer.text)
        else:
            answer = self._client.get(path, expect_errors=True)
            page = _webtest_page(answer)
        assert page.status < 500, f"GET {path}: {page.status}\n{page.text[:2000]}"
        return page

    def post(self, path: str, fields: list[tuple[str, str]]) -> Page:
        """A form sent from this site's own page."""
        headers = {"Origin": self.origin}
        if self.asgi:
            request = self._client.post(path, data=_form(fields), headers=headers)
            answer = self._runner.run(request)
            page = Page(answer.status_code, dict(answer.headers), answer.text)
        else:
            answer = self._client.post(path, fields, headers=headers, expect_errors=True)
            page = _webtest_page(answer)
        assert page.status < 500, f"POST {path}: {page.status}\n{page.text[:2000]}"
        return page

    def set_cookie(self, name: str, value: str) -> None:
        """A cookie that a script of the page (another consent manager) wrote."""
        if self.asgi:
            self._client.cookies.set(name, value, domain="127.0.0.1")
        else:
            self._client.set_cookie(name, value)

    def csrf_token(self) -> str:
        """The form token of this browser, from the preference page."""
        page = self.get("/consent")
        assert page.status == 200
        found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert found, "the preference page has no csrf_token field"
        return html.unescape(found.group(1))

    def choose(self, action: str, *extra: tuple[str, str], next_path: str = "/") -> Page:
        """Send the consent form: ``accept_all``, ``reject_all`` or ``save``."""
        fields = [("action", action), ("csrf_token", self.csrf_token()), ("next", next_path)]
        return self.post("/consent", [*fields, *extra])


class Lifespan:
    """An ASGI app's lifespan, driven as a server does; an app without one is let be."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._to_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._from_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def _answer(self) -> dict[str, Any] | None:
        assert self._task is not None
        reply = asyncio.ensure_future(self._from_app.get())
        await asyncio.wait([reply, self._task], return_when=asyncio.FIRST_COMPLETED)
        if reply.done():
            return reply.result()
        reply.cancel()
        self._task.exception()  # an app without a lifespan may raise: uvicorn's "auto" allows it
        return None

    async def start(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}}
        self._task = asyncio.ensure_future(
            self.app({**scope, "state": {}}, self._to_app.get, self._from_app.put)
        )
        await self._to_app.put({"type": "lifespan.startup"})
        answer = await self._answer()
        if answer is not None:
            assert answer["type"] == "lifespan.startup.complete", answer

    async def stop(self) -> None:
        assert self._task is not None
        if not self._task.done():
            await self._to_app.put({"type": "lifespan.shutdown"})
            answer = await self._answer()
            assert answer is None or answer["type"] == "lifespan.shutdown.complete", answer
        await asyncio.wait([self._task])


def _form(fields: list[tuple[str, str]]) -> dict[str, list[str]]:
    form: dict[str, list[str]] = {}
    for name, value in fields:
        form.setdefault(name, []).append(value)
    return form


def _webtest_page(answer: Any) -> Page:
    headers = {name.lower(): value for name, value in answer.headerlist}
    return Page(answer.status_int, headers, answer.text)
