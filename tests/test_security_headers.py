"""Everything the middleware serves itself refuses to be framed, and its own pages load
nothing but their inline styles, whatever the endpoint, method or status."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable

import pytest

from consent_middleware.core.context import PersonalisationContext
from consent_middleware.web.endpoints import Endpoints
from consent_middleware.web.engine import ConsentEngine
from consent_middleware.web.messages import Reply, RequestInfo

from .conftest import KEY, Driver, Result

FORM = [("Content-Type", "application/x-www-form-urlencoded"), ("Origin", "https://shop.test")]

# Each request, and the status it must get.
REQUESTS: dict[str, tuple[Callable[[Driver], Result], int]] = {
    "preference-page": (lambda d: d.get("/consent"), 200),
    "preference-page-slash": (lambda d: d.get("/consent/"), 200),
    "head": (lambda d: d.request("HEAD", "/consent"), 200),
    "state": (lambda d: d.get("/consent/state"), 200),
    "why": (lambda d: d.get("/consent/why"), 200),
    "data": (lambda d: d.get("/consent/data"), 200),
    "gpc-json": (lambda d: d.get("/.well-known/gpc.json"), 200),
    "choice": (lambda d: d.post_form([("action", "reject_all")]), 303),
    "unknown-action": (lambda d: d.post_form([("action", "maybe")]), 400),
    "cross-origin": (lambda d: d.post_form([("action", "x")], origin="https://evil.test"), 403),
    "forget-without-token": (
        lambda d: d.request("POST", "/consent/forget", headers=FORM, body=b"x=1"),
        403,
    ),
    "wrong-method": (lambda d: d.request("PUT", "/consent"), 405),
    "too-large": (lambda d: d.post_form([("pad", "x" * 20000)]), 413),
    "not-a-form": (
        lambda d: d.request("POST", "/consent", headers=[("Content-Type", "text/plain")]),
        415,
    ),
}


@pytest.mark.parametrize("case", list(REQUESTS.values()), ids=list(REQUESTS))
def test_every_endpoint_response_refuses_framing(
    driver: Driver, case: tuple[Callable[[Driver], Result], int]
) -> None:
    send, status = case
    result = send(driver)
    assert result.status == status
    assert result.header("X-Frame-Options") == "DENY"
    policy = result.header("Content-Security-Policy")
    assert policy is not None
    directives = _directives(policy)
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["default-src"] == ["'none'"]
    assert result.header("X-Content-Type-Options") == "nosniff"


@pytest.mark.parametrize("path", ["/consent", "/consent/why"])
def test_our_pages_allow_only_their_own_inline_styles_and_forms(driver: Driver, path: str) -> None:
    result = driver.get(path)
    directives = _directives(result.header("Content-Security-Policy") or "")
    assert directives["base-uri"] == ["'none'"]
    assert directives["form-action"] == ["'self'"]
    blocks = re.findall(r"<style>(.*?)</style>", result.text, re.DOTALL)
    assert blocks, "the page has its styles inline"
    expected = {
        f"'sha256-{base64.b64encode(hashlib.sha256(b.encode()).digest()).decode()}'" for b in blocks
    }
    assert set(directives["style-src"]) == expected
    assert "'unsafe-inline'" not in " ".join(sum(directives.values(), []))
    assert "script-src" not in directives and "<script" not in result.text


def test_a_reply_of_any_status_gets_the_headers(monkeypatch: pytest.MonkeyPatch) -> None:
    """The headers are added in one place, whatever a handler answers (a 503 included)."""
    engine = ConsentEngine(secret_keys=[KEY])
    endpoints = Endpoints(engine)
    unavailable = Reply(503, [("Content-Type", "text/plain; charset=utf-8")], b"later")
    monkeypatch.setattr(endpoints, "_record_choice", lambda *args: unavailable)
    ctx = PersonalisationContext(engine.policy, host=engine)
    reply = endpoints.handle("preferences", RequestInfo("POST"), ctx, "")
    assert reply.status == 503
    headers = dict(reply.headers)
    assert headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]


def _directives(policy: str) -> dict[str, list[str]]:
    directives = {}
    for part in policy.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives
