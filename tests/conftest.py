"""Drivers that send the same raw requests through each middleware and host app."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import webtest

from consent_middleware import ConsentMiddleware, ConsentPolicy, ConsentWSGIMiddleware
from consent_middleware.core.codec import ConsentCookieCodec, ConsentState

from .apps import flask_app, starlette_app, wsgi_app

KEY = "k" * 32 + "-newest-test-key"
OLD_KEY = "o" * 32 + "-older-test-key"
HOST = "shop.test"
ORIGIN = f"https://{HOST}"


@dataclass
class Result:
    status: int
    headers: list[tuple[str, str]]
    text: str

    def header(self, name: str) -> str | None:
        values = self.all(name)
        return values[0] if values else None

    def all(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]

    @property
    def set_cookies(self) -> list[str]:
        return self.all("set-cookie")

    def cookie(self, name: str) -> str | None:
        """The value a Set-Cookie line gives cookie ``name``."""
        for line in self.set_cookies:
            key, _, rest = line.partition("=")
            if key == name:
                return rest.partition(";")[0]
        return None


@dataclass
class Driver:
    """Sends requests with exactly the headers given (no cookie jar)."""

    kind: str
    send: Callable[[str, str, list[tuple[str, str]], bytes], Result]
    secure: bool
    cookie_name: str = field(init=False)

    def __post_init__(self) -> None:
        self.cookie_name = "__Host-consent" if self.secure else "consent"
        self.csrf_name = self.cookie_name + "_csrf"

    def request(
        self,
        method: str,
        path: str,
        *,
        headers: list[tuple[str, str]] | None = None,
        cookies: dict[str, str] | None = None,
        body: bytes = b"",
    ) -> Result:
        headers = list(headers or [])
        if cookies:
            headers.append(("Cookie", "; ".join(f"{k}={v}" for k, v in cookies.items())))
        return self.send(method, path, headers, body)

    def get(self, path: str, **kwargs: Any) -> Result:
        return self.request("GET", path, **kwargs)

    def csrf(self) -> tuple[str, str]:
        """A CSRF cookie value and its form token, as the preference page issues them."""
        page = self.get("/consent")
        nonce = page.cookie(self.csrf_name)
        match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert nonce and match
        return nonce, match.group(1)

    def post_form(
        self,
        fields: list[tuple[str, str]],
        *,
        cookies: dict[str, str] | None = None,
        headers: list[tuple[str, str]] | None = None,
        with_csrf: bool = True,
        origin: str | None = ORIGIN,
    ) -> Result:
        cookies = dict(cookies or {})
        fields = list(fields)
        if with_csrf:
            nonce, token = self.csrf()
            cookies[self.csrf_name] = nonce
            fields.append(("csrf_token", token))
        all_headers = [("Content-Type", "application/x-www-form-urlencoded")]
        if origin is not None:
            all_headers.append(("Origin", origin))
        all_headers += headers or []
        return self.request(
            "POST",
            "/consent",
            headers=all_headers,
            cookies=cookies,
            body=urlencode(fields).encode(),
        )

    def decide(self, action: str, purposes: tuple[str, ...] = (), **kwargs: Any) -> str:
        """Make a choice through the form and return the consent cookie's new value."""
        fields = [("action", action), *(("purpose", p) for p in purposes)]
        result = self.post_form(fields, **kwargs)
        assert result.status == 303, result.text
        value = result.cookie(self.cookie_name)
        assert value
        return value

    def mode(self, cookie: str | None, headers: list[tuple[str, str]] | None = None) -> Any:
        cookies = {self.cookie_name: cookie} if cookie is not None else None
        result = self.get("/", cookies=cookies, headers=headers)
        assert result.status == 200
        import json

        return json.loads(result.text)


def asgi_sender(app: Any) -> Callable[[str, str, list[tuple[str, str]], bytes], Result]:
    def send(method: str, path: str, headers: list[tuple[str, str]], body: bytes) -> Result:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url=ORIGIN) as client:
                raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]
                return await client.request(method, path, headers=raw, content=body)

        response = asyncio.run(go())
        return Result(response.status_code, list(response.headers.multi_items()), response.text)

    return send


def wsgi_sender(app: Any) -> Callable[[str, str, list[tuple[str, str]], bytes], Result]:
    test_app = webtest.TestApp(app)

    def send(method: str, path: str, headers: list[tuple[str, str]], body: bytes) -> Result:
        test_app.reset()
        environ: dict[str, str] = {}
        plain: list[tuple[str, str]] = []
        for name, value in headers:
            if name.lower() == "content-type":
                environ["CONTENT_TYPE"] = value
            elif name.lower() == "sec-gpc" and "HTTP_SEC_GPC" in environ:
                # A WSGI server joins repeated headers with commas.
                environ["HTTP_SEC_GPC"] += f", {value}"
            elif name.lower() == "sec-gpc":
                environ["HTTP_SEC_GPC"] = value
            else:
                plain.append((name, value))
        request = webtest.TestRequest.blank(
            ORIGIN + path, method=method, environ=environ, headers=plain
        )
        if body:
            request.body = body
        response = test_app.do_request(request, status="*", expect_errors=True)
        return Result(response.status_int, list(response.headerlist), response.text)

    return send


DriverFactory = Callable[..., Driver]


@pytest.fixture(params=["asgi", "wsgi", "flask"])
def make_driver(request: pytest.FixtureRequest) -> DriverFactory:
    """Builds a driver for one host app wrapped with the given middleware options."""

    def factory(**options: Any) -> Driver:
        options.setdefault("secret_keys", [KEY])
        secure = options.setdefault("secure", True)
        if request.param == "asgi":
            sender = asgi_sender(ConsentMiddleware(starlette_app(), **options))
        elif request.param == "wsgi":
            sender = wsgi_sender(ConsentWSGIMiddleware(wsgi_app, **options))
        else:
            app = flask_app()
            app.wsgi_app = ConsentWSGIMiddleware(app.wsgi_app, **options)  # type: ignore[method-assign]
            sender = wsgi_sender(app)
        return Driver(request.param, sender, secure)

    return factory


@pytest.fixture
def driver(make_driver: DriverFactory) -> Driver:
    return make_driver()


def make_cookie(
    granted: tuple[str, ...],
    *,
    decided_at: int,
    policy: ConsentPolicy | None = None,
    keys: list[str] | None = None,
    consent_id: str = "test-consent-id-0001",
) -> str:
    """A consent cookie value signed as the middleware would sign it."""
    policy = policy or ConsentPolicy.default()
    codec = ConsentCookieCodec(policy, keys or [KEY])
    return codec.encode(ConsentState(consent_id, policy.grant(granted), decided_at))
