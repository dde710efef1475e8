"""The cookie gate against Chromium: a line it lets out as a deletion stores nothing in the
browser and any other line stores the cookie, and the headers it screens are those the
browser takes as ``Set-Cookie``."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser

from consent_middleware import ConsentPolicy, Purpose
from consent_middleware.core.cookie_gate import CookieGate, Verdict, is_set_cookie_header

POLICY = ConsentPolicy(
    [Purpose("necessary", "N", required=True), Purpose("analytics", "A", cookies=("c",))],
    version="1",
)
GATE = CookieGate(POLICY, (), "warn")
NONE = frozenset({"necessary"})

_SOON_WITH_A_ZONE = time.strftime("%a, %d %b %Y %H:%M:%S +1400", time.gmtime(time.time() + 36000))

LINES = [
    "c=1; Max-Age=0",
    "c=1; Max-Age=-0",
    "c=1; max-age=00",
    "c=1; Max-Age= 0",
    "c=1; Max-Age=0" + "0" * 1023,
    "c=1; Max-Age=0" + "0" * 1024,
    "c=1; Max-Age=0; Max-Age=3600",
    "c=1; Max-Age=3600; Max-Age=0",
    "c=1; Max-Age=--5",
    "c=1; Max-Age=0 0",
    "c=1; Max-Age=0x10; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
    "c=Max-Age=0",
    'c="x; Max-Age=0"',
    "c=1; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
    "c=1; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=60",
    "c=1; Expires=Thu, 01-Jan-1970 00:00:01 GMT",
    "c=1; Expires=Thursday, 01-Jan-70 00:00:01 GMT",
    "c=1; Expires=Thu Jan  1 00:00:00 1970",
    "c=1; Expires=Wed, 01 Jan 69 00:00:00 GMT",
    f"c=1; Expires={_SOON_WITH_A_ZONE}",
    "c=1; Expires=never; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
    "c=1; Expires=Fri, 31 Feb 1990 00:00:00 GMT",
]


class _Server:
    """Answers ``GET /<n>`` with the ``n``-th of ``headers`` as is, on a plain socket (no
    HTTP library would send a header name with a blank before the colon)."""

    def __init__(self, headers: list[bytes]) -> None:
        self.headers = headers
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.socket.accept()
            except OSError:
                return
            with connection:
                request = b""
                while b"\r\n\r\n" not in request:
                    chunk = connection.recv(4096)
                    if not chunk:
                        break
                    request += chunk
                target = request.split(b" ")[1].strip(b"/") if request else b""
                # The browser asks for /favicon.ico too: no cookie there.
                header = self.headers[int(target)] + b"\r\n" if target.isdigit() else b""
                connection.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n"
                    + header
                    + b"\r\nok"
                )


@pytest.fixture(scope="module")
def stored(browser: Browser) -> Iterator[dict[bytes, bool]]:
    """Whether Chromium keeps a cookie from each header line of the tests."""
    headers = [f"Set-Cookie: {line}".encode("latin-1") for line in LINES]
    headers += [f"{name}: c=1".encode("latin-1") for name in _NAMES]
    server = _Server(headers)
    kept = {}
    context = browser.new_context()
    page = context.new_page()
    for index, header in enumerate(headers):
        context.clear_cookies()
        page.goto(f"{server.url}/{index}")
        kept[header] = bool(context.cookies())
    context.close()
    server.socket.close()
    yield kept


@pytest.mark.parametrize("line", LINES)
def test_the_gate_reads_a_deletion_as_chromium_does(stored: dict[bytes, bool], line: str) -> None:
    deletion = GATE.verdict(line, NONE, time.time()) is Verdict.PASS
    assert deletion is not stored[f"Set-Cookie: {line}".encode("latin-1")]


_NAMES = ["Set-Cookie", "set-cookie", "Set-Cookie ", "Set-Cookie\t", "Set-Cookie2", "X-Set-Cookie"]


@pytest.mark.parametrize("name", _NAMES)
def test_the_gate_screens_every_header_chromium_takes_as_set_cookie(
    stored: dict[bytes, bool], name: str
) -> None:
    assert is_set_cookie_header(name) is stored[f"{name}: c=1".encode("latin-1")]
