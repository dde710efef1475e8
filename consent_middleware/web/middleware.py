"""The options shared by the ASGI and WSGI middleware."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import timedelta
from typing import Generic, TypeVar

from ..core.context import PersonalisationContext
from ..core.policy import ConsentPolicy
from ..core.stores import DEFAULT_VISIT_LIFETIME, PreferenceBackend
from ..ledger.sql import Ledger
from .endpoints import Endpoints
from .engine import ConsentEngine

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
        # instead of in an encrypted cookie.
        preference_backend: PreferenceBackend | None = None,
        # Where choices are proved: "sqlite:///consent.db", "postgresql://...", or an object.
        ledger: str | Ledger | None = None,
        # A local directory where each process keeps, durably, the choices that the ledger
        # could not take at once (default: beside a SQLite ledger).
        spool: str | None = None,
        # The language of the consent notices, recorded with every choice.
        language: str = "en",
        # The host's own data about a visitor, for the download and for erasure.
        data_exporters: Mapping[str, Callable[[PersonalisationContext], object]] | None = None,
        data_erasers: Mapping[str, Callable[[PersonalisationContext], str]] | None = None,
        # Keep erased visitors' events for statistics, cut loose from their consent id.
        pseudonymise_on_erase: bool = False,
        # Refuse a cookie that a later recorded choice replaced (replays of an old "accept
        # all" after "reject all"); needs a ledger.
        enforce_withdrawal: bool = False,
        # How long a value of this visit is kept after it was written (a minute to a day),
        # even if the browser keeps its session cookie.
        visit_lifetime: timedelta | float = DEFAULT_VISIT_LIFETIME,
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
            ledger=ledger,
            spool=spool,
            language=language,
            data_exporters=data_exporters,
            data_erasers=data_erasers,
            pseudonymise_on_erase=pseudonymise_on_erase,
            enforce_withdrawal=enforce_withdrawal,
            visit_lifetime=visit_lifetime,
        )
        self.endpoints = Endpoints(self.engine)
