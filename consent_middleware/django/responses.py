"""The engine's answers as Django responses: its own replies, and the changes to an app's."""

from __future__ import annotations

from contextlib import suppress
from http.cookies import CookieError, Morsel
from typing import Any

from django.http import HttpResponse, HttpResponseBase

from ..web.messages import (
    NO_CHANGES,
    Reply,
    ResponseChanges,
    private_cache_control,
    vary_also,
    vary_cookie,
)

__all__ = ["RawCookie", "apply_changes", "as_response", "set_cookie_line"]


class RawCookie(Morsel[str]):
    """A ``Set-Cookie`` line exactly as the engine wrote it.

    Django writes ``response.cookies`` out with each morsel's ``output()``; this one gives
    back its line unchanged (attribute order, deletions' ``Expires``), and, unlike
    ``response.set_cookie()``, two lines for one name can go out together (a deletion on
    the host and on ``.example.com``). Its name and value are set for Django's test client.
    """

    def __init__(self, line: str) -> None:
        super().__init__()
        self._take(line)

    def _take(self, line: str) -> None:
        self.line = line
        name, _, rest = line.partition("=")
        value = rest.partition(";")[0]
        # A name the standard library refuses still goes out; only the test client misses it.
        with suppress(CookieError):
            self.set(name, value, value)

    def OutputString(self, attrs: Any = None) -> str:  # noqa: N802  (the stdlib's name)
        return self.line

    # Morsel keeps only its name and value through pickling (Django's cache pickles).
    def __getstate__(self) -> dict[str, Any]:
        return {"line": self.line}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._take(state["line"])


def set_cookie_line(response: HttpResponseBase, line: str) -> None:
    """Add ``line`` to the response's cookies, after those already there."""
    cookies = response.cookies
    name = line.partition("=")[0]
    key, n = name, 1
    while key in cookies:
        # The app's own cookie of that name stays; this one goes out after it.
        key, n = f"{name}\x00{n}", n + 1
    cookies[key] = RawCookie(line)


def apply_changes(response: HttpResponseBase, changes: ResponseChanges) -> None:
    """Apply ``changes`` to an app's response, as the ASGI and WSGI adapters do: the app's
    ``Cache-Control`` only made private, its ``Vary`` only gaining ``Cookie``, our cookies
    after its own."""
    if changes is NO_CHANGES:
        return
    if changes.private:
        response["Cache-Control"] = private_cache_control(response.get("Cache-Control"))
    if changes.vary_cookie or changes.private:
        response["Vary"] = vary_also(vary_cookie(response.get("Vary")), changes.vary)
    for line in changes.cookies:
        set_cookie_line(response, line)


def as_response(reply: Reply) -> HttpResponse:
    """A reply of the consent endpoints as an ``HttpResponse``, headers as given."""
    response = HttpResponse(reply.body, status=reply.status)
    typed = False
    for name, value in reply.headers:
        lowered = name.lower()
        if lowered == "set-cookie":
            set_cookie_line(response, value)
        else:
            typed = typed or lowered == "content-type"
            response[name] = value
    if not typed:
        del response["Content-Type"]  # Django's default; a redirect of ours has none
    return response
