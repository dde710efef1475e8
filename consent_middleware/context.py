"""The per-request personalisation context and how to find it from any request object."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from .exceptions import ConsentError, MiddlewareNotInstalled
from .policy import PERSONALISATION, SESSION_PERSONALISATION, ConsentPolicy

if TYPE_CHECKING:
    from .codec import ConsentState
    from .csrf import CsrfGuard

__all__ = ["ENVIRON_KEY", "SCOPE_KEY", "Mode", "PersonalisationContext", "get_context"]

#: Where the ASGI middleware puts the context: ``scope["consent"]``.
SCOPE_KEY = "consent"
#: Where the WSGI middleware puts the context: ``environ["consent_middleware.context"]``.
ENVIRON_KEY = "consent_middleware.context"


class Mode(StrEnum):
    """How far a request may be personalised."""

    #: ``personalisation`` granted: stated preferences and history across visits.
    PERSONALISED = "personalised"
    #: Guest mode: only ``session_personalisation`` granted; signals of this visit only.
    SESSION = "session"
    #: No personalisation purpose granted, no decision yet, or consent could not be read.
    NON_PERSONALISED = "non_personalised"


class PersonalisationContext:
    """What this request may use, from the visitor's consent and the request's GPC signal.

    Anything wrong with the consent cookie has already been turned into "no decision", so
    every attribute here is safe to act on.
    """

    __slots__ = (
        "_cookie_header",
        "_csrf",
        "_csrf_nonce",
        "gpc",
        "granted",
        "mode",
        "new_csrf_nonce",
        "policy",
        "state",
    )

    def __init__(
        self,
        policy: ConsentPolicy,
        state: ConsentState | None = None,
        gpc: bool = False,
        csrf: CsrfGuard | None = None,
        cookie_header: str = "",
    ) -> None:
        self.policy = policy
        #: The verified decision from the cookie, or ``None`` when there is none valid.
        self.state = state
        #: The browser sent Global Privacy Control on this request.
        self.gpc = gpc
        granted = policy.required_ids if state is None else state.granted
        if gpc and not granted.isdisjoint(policy.gpc_opt_out_ids):
            granted = granted - policy.gpc_opt_out_ids
        #: The purposes this request may use (required ones included).
        self.granted: frozenset[str] = granted
        #: How far this request may be personalised.
        self.mode = (
            Mode.PERSONALISED
            if PERSONALISATION in granted
            else Mode.SESSION
            if SESSION_PERSONALISATION in granted
            else Mode.NON_PERSONALISED
        )
        self._csrf = csrf
        self._cookie_header = cookie_header
        self._csrf_nonce: str | None = None
        #: The response must set the CSRF cookie (a token was made for a new nonce).
        self.new_csrf_nonce = False

    @property
    def decided(self) -> bool:
        """Whether the visitor has made a choice under the current policy version."""
        return self.state is not None

    @property
    def consent_id(self) -> str | None:
        """The pseudonymous id of this browser's consent record, once it has decided."""
        return None if self.state is None else self.state.consent_id

    def allows(self, purpose_id: str) -> bool:
        """Whether ``purpose_id`` may be used on this request.

        An id the policy does not declare is a programming error and raises
        :class:`ConsentError`, so a typo cannot silently switch a feature off (or on).
        """
        if purpose_id in self.granted:
            return True
        if purpose_id not in self.policy:
            declared = ", ".join(p.id for p in self.policy.purposes)
            raise ConsentError(f"unknown purpose {purpose_id!r}; the policy declares: {declared}")
        return False

    @property
    def csrf_nonce(self) -> str | None:
        """This browser's CSRF nonce: from its cookie, or made for this response."""
        if self._csrf_nonce is None and self._csrf is not None:
            self._csrf_nonce = self._csrf.nonce_from(self._cookie_header)
        return self._csrf_nonce

    @property
    def csrf_token(self) -> str:
        """A token for the consent forms; using it makes the response set its cookie."""
        if self._csrf is None:
            raise ConsentError("this context was built without CSRF protection")
        nonce = self.csrf_nonce
        if nonce is None:
            nonce = self._csrf_nonce = self._csrf.new_nonce()
            self.new_csrf_nonce = True
        return self._csrf.token_for(nonce)

    def __repr__(self) -> str:
        return (
            f"<PersonalisationContext mode={self.mode.value} decided={self.decided} gpc={self.gpc}>"
        )


def _from_mapping(holder: Mapping[str, Any]) -> PersonalisationContext | None:
    for key in (SCOPE_KEY, ENVIRON_KEY):
        found = holder.get(key)
        if isinstance(found, PersonalisationContext):
            return found
    return None


def get_context(request: Any) -> PersonalisationContext:
    """The consent context of a request.

    Accepts a Starlette/FastAPI ``Request``, an ASGI scope, a WSGI environ, a Flask or
    Werkzeug request, or a WebOb request. Raises :class:`MiddlewareNotInstalled` (a
    :class:`ConsentError`) when no consent middleware handled the request.
    """
    for attribute in ("scope", "environ"):
        holder = getattr(request, attribute, None)
        if isinstance(holder, Mapping):
            break
    else:
        holder = request if isinstance(request, Mapping) else None
    found = None if holder is None else _from_mapping(holder)
    if found is None:
        raise MiddlewareNotInstalled(
            "no consent context on this request: wrap the app with ConsentMiddleware (ASGI) "
            "or ConsentWSGIMiddleware (WSGI), and pass get_context() the request, its ASGI "
            f"scope or its WSGI environ (got {type(request).__name__})"
        )
    return found
