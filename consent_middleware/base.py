"""The options shared by the ASGI and WSGI middleware."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Generic, TypeVar

from .endpoints import Endpoints
from .engine import ConsentEngine
from .policy import ConsentPolicy
from .stores import PreferenceBackend

AppT = TypeVar("AppT")


class MiddlewareBase(Generic[AppT]):
    """Builds the engine once, at construction, so every mistake surfaces at start-up."""

    def __init__(
        self,
        app: AppT,
        *,
        policy: ConsentPolicy | None = None,
        secret_keys: Sequence[str | bytes],
        secure: bool = True,
        prefix: str = "/consent",
        cookie_name: str = "consent",
        # Domains third-party tags set their cookies on (".example.com"), so that
        # withdrawing a purpose deletes them there too.
        cookie_domains: Iterable[str] = (),
        # Public origins accepted on consent forms when a proxy rewrites the Host header.
        trusted_origins: Iterable[str] = (),
        # Serve /.well-known/gpc.json; turn off to serve your own.
        gpc_json: bool = True,
        # Keep stated preferences server-side (keyed by the pseudonymous consent id)
        # instead of in a signed cookie.
        preference_backend: PreferenceBackend | None = None,
    ) -> None:
        self.app = app
        self.engine = ConsentEngine(
            policy=policy,
            secret_keys=secret_keys,
            secure=secure,
            prefix=prefix,
            cookie_name=cookie_name,
            cookie_domains=cookie_domains,
            trusted_origins=trusted_origins,
            gpc_json=gpc_json,
            preference_backend=preference_backend,
        )
        self.endpoints = Endpoints(self.engine)
