"""Route records: one per path the middleware serves itself, as Starlette's ``Route``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..core.context import PersonalisationContext
from .messages import Reply, RequestInfo

__all__ = ["Handler", "Route", "method_not_allowed"]

#: Answers a request: its record, its consent context and its raw ``Cookie`` header.
Handler = Callable[[RequestInfo, PersonalisationContext, str], Reply]


@dataclass(frozen=True, slots=True)
class Route:
    """One path the middleware answers, and how."""

    #: What the adapters call the route (``"preferences"``, ``"state"``...).
    name: str
    path: str
    #: The methods answered; any other gets ``405`` with an ``Allow`` header.
    methods: tuple[str, ...]
    handler: Handler
    #: A ``POST`` carries a form: the adapter reads the body before calling the handler.
    reads_body: bool = False
    #: Answering may wait on a store (a ledger commit, a journal ``fsync``, the preference
    #: backend): the ASGI adapter then calls the handler in a worker thread.
    may_block: bool = True


def method_not_allowed(route: Route) -> Reply:
    """The answer to a method ``route`` does not serve."""
    headers = [("Allow", ", ".join(route.methods)), ("Content-Type", "text/plain; charset=utf-8")]
    return Reply(405, headers, b"Method Not Allowed")
