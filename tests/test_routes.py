"""The table of routes the middleware serves itself."""

from __future__ import annotations

import pytest

from consent_middleware.core.context import PersonalisationContext
from consent_middleware.web.endpoints import Endpoints
from consent_middleware.web.engine import ConsentEngine
from consent_middleware.web.messages import RequestInfo

from .conftest import KEY

ENDPOINTS = Endpoints(ConsentEngine(secret_keys=[KEY], prefix="/privacy"))


@pytest.mark.parametrize(
    ("path", "name"),
    [
        pytest.param("/privacy", "preferences", id="page"),
        pytest.param("/privacy/", "preferences", id="page-slash"),
        pytest.param("/privacy/state", "state", id="state"),
        pytest.param("/privacy/why", "why", id="why"),
        pytest.param("/privacy/data", "data", id="data"),
        pytest.param("/privacy/forget", "forget", id="forget"),
        pytest.param("/.well-known/gpc.json", "gpc", id="gpc"),
        pytest.param("/privacy/state/", None, id="state-slash"),
        pytest.param("/privacy/other", None, id="other"),
        pytest.param("/privacyx", None, id="longer"),
        pytest.param("/consent", None, id="default-prefix"),
    ],
)
def test_paths_find_their_route(path: str, name: str | None) -> None:
    assert ENDPOINTS.route(path) == name


def test_only_form_posts_read_a_body_and_only_state_and_gpc_never_block() -> None:
    names = ["preferences", "state", "why", "data", "forget", "gpc"]
    assert [n for n in names if ENDPOINTS.wants_body(n, "POST")] == ["preferences", "forget"]
    assert not any(ENDPOINTS.wants_body(n, "GET") for n in names)
    assert [n for n in names if not ENDPOINTS.blocking(n)] == ["state", "gpc"]


@pytest.mark.parametrize("path", sorted(ENDPOINTS.routes))
def test_every_route_refuses_other_methods_with_allow(path: str) -> None:
    route = ENDPOINTS.routes[path]
    ctx = PersonalisationContext(ENDPOINTS.engine.policy, host=ENDPOINTS.engine)
    reply = ENDPOINTS.handle(route.name, RequestInfo("PATCH"), ctx, "")
    assert reply.status == 405
    assert dict(reply.headers)["Allow"] == ", ".join(route.methods)
    assert dict(reply.headers)["X-Frame-Options"] == "DENY"


def test_gpc_json_can_be_turned_off() -> None:
    endpoints = Endpoints(ConsentEngine(secret_keys=[KEY], gpc_json=False))
    assert endpoints.route("/.well-known/gpc.json") is None
    assert endpoints.prefixes == ("/consent",)
